// What one manager image hands to the next when it re-executes itself for a fresh PHP engine
// (src/systemd/reexec): the PHP_POOL_HANDOVER text, and that it leaves the environment.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "systemd/reexec.hpp"

using php_pool::systemd::decode_handover;
using php_pool::systemd::encode_handover;
using php_pool::systemd::Handover;
using php_pool::systemd::take_handover;

TEST(Handover, RoundTrip) {
  Handover h;
  h.generation = 7;
  h.workers = {101, 102, 4000000};
  h.started_us = {5, 6, 18446744073709551615ull};
  h.counters = {{"accepted_conn", 12345}, {"start_time", 1700000000000000ull}};
  h.unlink_path = "/run/odd;name=with;semicolons.sock";
  Handover back;
  std::string error;
  ASSERT_TRUE(decode_handover(encode_handover(h), back, error)) << error;
  EXPECT_EQ(back.generation, 7u);
  EXPECT_EQ(back.workers, h.workers);
  EXPECT_EQ(back.started_us, h.started_us);
  EXPECT_EQ(back.counters, h.counters);
  EXPECT_EQ(back.unlink_path, h.unlink_path);
}

TEST(Handover, NoWorkersNoPath) {
  Handover h;
  h.generation = 1;
  Handover back;
  std::string error;
  ASSERT_TRUE(decode_handover(encode_handover(h), back, error)) << error;
  EXPECT_TRUE(back.workers.empty());
  EXPECT_TRUE(back.unlink_path.empty());
}

TEST(Handover, PidsWithoutStartTimesAndUnknownKeys) {
  Handover h;
  std::string error;
  ASSERT_TRUE(decode_handover("v1;generation=3;workers=10,11@99;future=x", h, error)) << error;
  EXPECT_EQ(h.workers, (std::vector<pid_t>{10, 11}));
  EXPECT_EQ(h.started_us, (std::vector<uint64_t>{0, 99}));
}

TEST(Handover, Malformed) {
  for (const char* bad :
       {"", "v2;generation=1", "v1;generation=x", "v1;workers=1,,2", "v1;workers=0",
        "v1;workers=-3", "v1;c.accepted_conn=1e3", "v1;novalue"}) {
    Handover h;
    std::string error;
    EXPECT_FALSE(decode_handover(bad, h, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(Handover, TakenFromTheEnvironmentOnce) {
  Handover h, none;
  std::string error;
  unsetenv("PHP_POOL_HANDOVER");
  EXPECT_FALSE(take_handover(none, error));
  EXPECT_TRUE(error.empty());
  setenv("PHP_POOL_HANDOVER", "v1;generation=2;workers=42@1", 1);
  ASSERT_TRUE(take_handover(h, error)) << error;
  EXPECT_EQ(h.workers, std::vector<pid_t>{42});
  EXPECT_EQ(getenv("PHP_POOL_HANDOVER"), nullptr);  // never reaches a worker
  setenv("PHP_POOL_HANDOVER", "garbage", 1);
  EXPECT_FALSE(take_handover(none, error));
  EXPECT_NE(error.find("malformed"), std::string::npos);
  EXPECT_EQ(getenv("PHP_POOL_HANDOVER"), nullptr);
}
