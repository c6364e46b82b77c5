// include= globs: relative paths, ordering, nesting depth, errors inside included files.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "test_util.hpp"

namespace php_pool::config {
namespace {

using testing::TempDir;

std::string pool_file(const std::string& name, int port) {
  return "[" + name + "]\nlisten = " + std::to_string(port) +
         "\npm = static\npm.max_children = 2\n";
}

TEST(Include, GlobRelativeToTheIncludingFile) {
  TempDir dir;
  dir.write("pool.d/b.conf", pool_file("b", 9002));
  dir.write("pool.d/a.conf", pool_file("a", 9001));
  dir.write("pool.d/ignored.txt", pool_file("x", 9003));
  dir.mkdir("pool.d/dir.conf");  // directories matching the glob are skipped
  std::string main =
      dir.write("php-fpm.conf", "[global]\nlog_level = debug\ninclude=pool.d/*.conf\n");
  LoadResult r = load(main);
  ASSERT_TRUE(r.config) << testing::all_messages(r.errors);
  ASSERT_EQ(r.config->pools.size(), 2u);
  EXPECT_EQ(r.config->pools[0].name, "a");  // glob order
  EXPECT_EQ(r.config->pools[1].name, "b");
  EXPECT_EQ(r.config->pools[0].source.file, dir.path() + "/pool.d/a.conf");
  EXPECT_EQ(r.config->pools[0].where("listen")->line, 2);
  EXPECT_EQ(r.config->files, (std::vector<std::string>{main, dir.path() + "/pool.d/a.conf",
                                                       dir.path() + "/pool.d/b.conf"}));
}

TEST(Include, AbsolutePatternAndEnvironment) {
  TempDir dir;
  dir.write("conf/site.conf", pool_file("site", 9000));
  setenv("PHP_POOL_TEST_CONFDIR", (dir.path() + "/conf").c_str(), 1);
  std::string main = dir.write("main.conf", "include = ${PHP_POOL_TEST_CONFDIR}/*.conf\n");
  LoadResult r = load(main);
  ASSERT_TRUE(r.config) << testing::all_messages(r.errors);
  EXPECT_EQ(r.config->pools[0].name, "site");
}

TEST(Include, RelativeToAnExplicitPrefix) {
  TempDir dir;
  dir.write("prefix/pools/p.conf", pool_file("p", 9000));
  std::string main = dir.write("etc/main.conf", "include = pools/*.conf\n");
  LoadOptions o;
  o.prefix = dir.path() + "/prefix";
  LoadResult r = load(main, o);
  ASSERT_TRUE(r.config) << testing::all_messages(r.errors);
  EXPECT_EQ(r.config->pools[0].name, "p");
}

TEST(Include, NothingMatchesIsAWarning) {
  TempDir dir;
  dir.mkdir("empty.d");
  std::string main = dir.write("main.conf", pool_file("www", 9000) + "include = empty.d/*.conf\n");
  LoadResult r = load(main);
  ASSERT_TRUE(r.config) << testing::all_messages(r.errors);
  ASSERT_EQ(r.config->warnings.size(), 1u);
  EXPECT_EQ(r.config->warnings[0].format(),
            main + ":5: nothing matches the include pattern '" + dir.path() + "/empty.d/*.conf'");
}

TEST(Include, AMissingDirectoryIsAnError) {
  TempDir dir;
  std::string main = dir.write("main.conf", pool_file("www", 9000) + "include = none.d/*.conf\n");
  LoadResult r = load(main);
  ASSERT_FALSE(r.config);
  EXPECT_ERROR(r, main, 5,
               "unable to expand the include pattern '" + dir.path() +
                   "/none.d/*.conf' (cannot "
                   "read '" +
                   dir.path() + "/none.d': No such file or directory)");
}

TEST(Include, ErrorsInIncludedFilesNameThatFileAndLine) {
  TempDir dir;
  dir.write("pool.d/www.conf",
            "[www]\nlisten = 9000\npm = static\npm.max_children = 2\n"
            "\n  pm.max_chlidren = 3\n");
  std::string main = dir.write("main.conf", "[global]\ninclude = pool.d/*.conf\nlog_levl = x\n");
  LoadResult r = load(main);
  ASSERT_FALSE(r.config);
  EXPECT_ERROR(r, dir.path() + "/pool.d/www.conf", 6,
               "unknown directive 'pm.max_chlidren' (did you mean 'pm.max_children'?)");
  // after the include, parsing continues in the last section the included file opened
  EXPECT_ERROR(r, main, 3, "unknown directive 'log_levl' (did you mean 'log_level'?)");
}

TEST(Include, NestingUpToFiveFiles) {
  TempDir dir;
  // main -> 1 -> 2 -> 3 -> 4 : five files in the chain, accepted
  dir.write("4.conf", pool_file("deep", 9000));
  dir.write("3.conf", "include = 4.conf\n");
  dir.write("2.conf", "include = 3.conf\n");
  dir.write("1.conf", "include = 2.conf\n");
  std::string main = dir.write("main.conf", "include = 1.conf\n");
  LoadResult r = load(main);
  ASSERT_TRUE(r.config) << testing::all_messages(r.errors);
  EXPECT_EQ(r.config->pools[0].name, "deep");
  EXPECT_EQ(r.config->files.size(), 5u);

  // one more level is refused, at the include line of the fifth file
  std::string top = dir.write("0.conf", "\ninclude = main.conf\n");
  LoadResult too_deep = load(top);
  ASSERT_FALSE(too_deep.config);
  EXPECT_ERROR(too_deep, dir.path() + "/3.conf", 1,
               "failed to include '" + dir.path() +
                   "/4.conf': more than 5 files included "
                   "recursively");
}

TEST(Include, ARecursiveIncludeStopsAtTheDepthLimit) {
  TempDir dir;
  std::string self = dir.write("self.conf", pool_file("www", 9000) + "include = self.conf\n");
  LoadResult r = load(self);
  ASSERT_FALSE(r.config);
  EXPECT_ERROR_FRAGMENT(r, self, 5, "more than 5 files included recursively");
}

TEST(Include, MissingMainFile) {
  TempDir dir;
  LoadResult r = load(dir.path() + "/nope.conf");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].format(), dir.path() +
                                      "/nope.conf: failed to open configuration file: No such "
                                      "file or directory");
}

TEST(Include, EmptyPattern) {
  TempDir dir;
  std::string main = dir.write("m.conf", pool_file("www", 1) + "include =\n");
  LoadResult r = load(main);
  EXPECT_ERROR(r, main, 5, "'include': empty pattern");
}

}  // namespace
}  // namespace php_pool::config
