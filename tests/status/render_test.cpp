// The status page renderers against php-fpm 8.2's exact output for a fixed snapshot, and the
// query-string rules (checked against a running php-fpm 8.2).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <string>

#include "status/render.hpp"

namespace php_pool::status {
namespace {

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    s.pool = "www";
    s.process_manager = "dynamic";
    s.start_time = 1700000000;  // 14/Nov/2023:22:13:20 +0000
    s.start_since = 3600;
    s.accepted_conn = 12345;
    s.listen_queue = 1;
    s.max_listen_queue = 7;
    s.listen_queue_len = 511;
    s.idle = 3;
    s.active = 2;
    s.total = 5;
    s.max_active = 4;
    s.max_children_reached = 1;
    s.slow_requests = 2;
    ProcessRow a;
    a.pid = 101;
    a.state = "Idle";
    a.start_time = 1700000100;
    a.start_since = 3500;
    a.requests = 40;
    a.request_duration = 1234;
    a.request_method = "GET";
    a.request_uri = "/index.php";
    a.query_string = "a=1&b=<2>";
    a.content_length = 0;
    a.script = "/var/www/index.php";
    a.last_request_cpu = 12.5;
    a.last_request_memory = 2097152;
    ProcessRow b;
    b.pid = 102;
    b.state = "Running";
    b.start_time = 1700000200;
    b.start_since = 3400;
    b.requests = 7;
    b.request_duration = 5000000;
    b.request_method = "POST";
    b.request_uri = "/up\"load.php";
    b.content_length = 42;
    b.user = "alice";
    b.script = "/var/www/up\"load.php";
    s.processes = {a, b};
  }
  Snapshot s;
};

TEST_F(RenderTest, PlainShort) {
  EXPECT_EQ(render(s, Format::Plain, false),
            "pool:                 www\n"
            "process manager:      dynamic\n"
            "start time:           14/Nov/2023:22:13:20 +0000\n"
            "start since:          3600\n"
            "accepted conn:        12345\n"
            "listen queue:         1\n"
            "max listen queue:     7\n"
            "listen queue len:     511\n"
            "idle processes:       3\n"
            "active processes:     2\n"
            "total processes:      5\n"
            "max active processes: 4\n"
            "max children reached: 1\n"
            "slow requests:        2\n");
}

TEST_F(RenderTest, PlainFull) {
  std::string expected = render(s, Format::Plain, false) +
                         "\n"
                         "************************\n"
                         "pid:                  101\n"
                         "state:                Idle\n"
                         "start time:           14/Nov/2023:22:15:00 +0000\n"
                         "start since:          3500\n"
                         "requests:             40\n"
                         "request duration:     1234\n"
                         "request method:       GET\n"
                         "request URI:          /index.php?a=1&b=<2>\n"
                         "content length:       0\n"
                         "user:                 -\n"
                         "script:               /var/www/index.php\n"
                         "last request cpu:     12.50\n"
                         "last request memory:  2097152\n"
                         "\n"
                         "************************\n"
                         "pid:                  102\n"
                         "state:                Running\n"
                         "start time:           14/Nov/2023:22:16:40 +0000\n"
                         "start since:          3400\n"
                         "requests:             7\n"
                         "request duration:     5000000\n"
                         "request method:       POST\n"
                         "request URI:          /up\"load.php\n"
                         "content length:       42\n"
                         "user:                 alice\n"
                         "script:               /var/www/up\"load.php\n"
                         "last request cpu:     0.00\n"
                         "last request memory:  0\n";
  EXPECT_EQ(render(s, Format::Plain, true), expected);
}

TEST_F(RenderTest, JsonShort) {
  EXPECT_EQ(render(s, Format::Json, false),
            "{\"pool\":\"www\",\"process manager\":\"dynamic\",\"start time\":1700000000,"
            "\"start since\":3600,\"accepted conn\":12345,\"listen queue\":1,"
            "\"max listen queue\":7,\"listen queue len\":511,\"idle processes\":3,"
            "\"active processes\":2,\"total processes\":5,\"max active processes\":4,"
            "\"max children reached\":1,\"slow requests\":2}");
}

TEST_F(RenderTest, JsonFull) {
  EXPECT_EQ(render(s, Format::Json, true),
            "{\"pool\":\"www\",\"process manager\":\"dynamic\",\"start time\":1700000000,"
            "\"start since\":3600,\"accepted conn\":12345,\"listen queue\":1,"
            "\"max listen queue\":7,\"listen queue len\":511,\"idle processes\":3,"
            "\"active processes\":2,\"total processes\":5,\"max active processes\":4,"
            "\"max children reached\":1,\"slow requests\":2, \"processes\":["
            "{\"pid\":101,\"state\":\"Idle\",\"start time\":1700000100,\"start since\":3500,"
            "\"requests\":40,\"request duration\":1234,\"request method\":\"GET\","
            "\"request uri\":\"\\/index.php?a=1&b=<2>\",\"content length\":0,\"user\":\"-\","
            "\"script\":\"\\/var\\/www\\/index.php\",\"last request cpu\":12.50,"
            "\"last request memory\":2097152},"
            "{\"pid\":102,\"state\":\"Running\",\"start time\":1700000200,\"start since\":3400,"
            "\"requests\":7,\"request duration\":5000000,\"request method\":\"POST\","
            "\"request uri\":\"\\/up\\\"load.php\",\"content length\":42,\"user\":\"alice\","
            "\"script\":\"\\/var\\/www\\/up\\\"load.php\",\"last request cpu\":0.00,"
            "\"last request memory\":0}]}");
}

TEST_F(RenderTest, JsonFullWithoutProcesses) {
  s.processes.clear();
  std::string out = render(s, Format::Json, true);
  std::string tail = "\"slow requests\":2, \"processes\":[]}";
  ASSERT_GT(out.size(), tail.size());
  EXPECT_EQ(out.substr(out.size() - tail.size()), tail);
}

TEST_F(RenderTest, XmlShort) {
  EXPECT_EQ(render(s, Format::Xml, false),
            "<?xml version=\"1.0\" ?>\n"
            "<status>\n"
            "<pool>www</pool>\n"
            "<process-manager>dynamic</process-manager>\n"
            "<start-time>1700000000</start-time>\n"
            "<start-since>3600</start-since>\n"
            "<accepted-conn>12345</accepted-conn>\n"
            "<listen-queue>1</listen-queue>\n"
            "<max-listen-queue>7</max-listen-queue>\n"
            "<listen-queue-len>511</listen-queue-len>\n"
            "<idle-processes>3</idle-processes>\n"
            "<active-processes>2</active-processes>\n"
            "<total-processes>5</total-processes>\n"
            "<max-active-processes>4</max-active-processes>\n"
            "<max-children-reached>1</max-children-reached>\n"
            "<slow-requests>2</slow-requests>\n"
            "</status>");
}

TEST_F(RenderTest, XmlFull) {
  std::string shrt = render(s, Format::Xml, false);
  std::string head = shrt.substr(0, shrt.size() - strlen("</status>"));
  EXPECT_EQ(render(s, Format::Xml, true),
            head +
                "<processes>\n"
                "<process><pid>101</pid><state>Idle</state><start-time>1700000100</start-time>"
                "<start-since>3500</start-since><requests>40</requests>"
                "<request-duration>1234</request-duration><request-method>GET</request-method>"
                "<request-uri>/index.php?a=1&amp;b=&lt;2&gt;</request-uri>"
                "<content-length>0</content-length><user>-</user>"
                "<script>/var/www/index.php</script><last-request-cpu>12.50</last-request-cpu>"
                "<last-request-memory>2097152</last-request-memory></process>\n"
                "<process><pid>102</pid><state>Running</state><start-time>1700000200</start-time>"
                "<start-since>3400</start-since><requests>7</requests>"
                "<request-duration>5000000</request-duration><request-method>POST</request-method>"
                "<request-uri>/up&quot;load.php</request-uri><content-length>42</content-length>"
                "<user>alice</user><script>/var/www/up&quot;load.php</script>"
                "<last-request-cpu>0.00</last-request-cpu>"
                "<last-request-memory>0</last-request-memory></process>\n"
                "</processes>\n"
                "</status>");
}

TEST_F(RenderTest, HtmlShort) {
  EXPECT_EQ(render(s, Format::Html, false),
            "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
            "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n"
            "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
            "<head><title>PHP-FPM Status Page</title></head>\n"
            "<body>\n"
            "<table>\n"
            "<tr><th>pool</th><td>www</td></tr>\n"
            "<tr><th>process manager</th><td>dynamic</td></tr>\n"
            "<tr><th>start time</th><td>14/Nov/2023:22:13:20 +0000</td></tr>\n"
            "<tr><th>start since</th><td>3600</td></tr>\n"
            "<tr><th>accepted conn</th><td>12345</td></tr>\n"
            "<tr><th>listen queue</th><td>1</td></tr>\n"
            "<tr><th>max listen queue</th><td>7</td></tr>\n"
            "<tr><th>listen queue len</th><td>511</td></tr>\n"
            "<tr><th>idle processes</th><td>3</td></tr>\n"
            "<tr><th>active processes</th><td>2</td></tr>\n"
            "<tr><th>total processes</th><td>5</td></tr>\n"
            "<tr><th>max active processes</th><td>4</td></tr>\n"
            "<tr><th>max children reached</th><td>1</td></tr>\n"
            "<tr><th>slow requests</th><td>2</td></tr>\n"
            "</table>\n"
            "</body></html>");
}

TEST_F(RenderTest, HtmlFull) {
  std::string shrt = render(s, Format::Html, false);
  std::string head = shrt.substr(0, shrt.size() - strlen("</body></html>"));
  EXPECT_EQ(render(s, Format::Html, true),
            head +
                "<table border=\"1\">\n"
                "<tr><th>pid</th><th>state</th><th>start time</th><th>start since</th>"
                "<th>requests</th><th>request duration</th><th>request method</th>"
                "<th>request uri</th><th>content length</th><th>user</th><th>script</th>"
                "<th>last request cpu</th><th>last request memory</th></tr>\n"
                "<tr><td>101</td><td>Idle</td><td>14/Nov/2023:22:15:00 +0000</td><td>3500</td>"
                "<td>40</td><td>1234</td><td>GET</td><td>/index.php?a=1&amp;b=&lt;2&gt;</td>"
                "<td>0</td><td>-</td><td>/var/www/index.php</td><td>12.50</td><td>2097152</td>"
                "</tr>\n"
                "<tr><td>102</td><td>Running</td><td>14/Nov/2023:22:16:40 +0000</td><td>3400</td>"
                "<td>7</td><td>5000000</td><td>POST</td><td>/up&quot;load.php</td><td>42</td>"
                "<td>alice</td><td>/var/www/up&quot;load.php</td><td>0.00</td><td>0</td></tr>\n"
                "</table></body></html>");
}

const char* const kOpenMetricsShort =
    "# HELP phpfpm_up Could pool www using a dynamic PM on PHP-FPM be reached?\n"
    "# TYPE phpfpm_up gauge\n"
    "phpfpm_up 1\n"
    "# HELP phpfpm_start_since The number of seconds since FPM has started.\n"
    "# TYPE phpfpm_start_since counter\n"
    "phpfpm_start_since_total 3600\n"
    "# HELP phpfpm_accepted_connections The number of requests accepted by the pool.\n"
    "# TYPE phpfpm_accepted_connections counter\n"
    "phpfpm_accepted_connections_total 12345\n"
    "# HELP phpfpm_listen_queue The number of requests in the queue of pending connections.\n"
    "# TYPE phpfpm_listen_queue gauge\n"
    "phpfpm_listen_queue 1\n"
    "# HELP phpfpm_max_listen_queue The maximum number of requests in the queue of pending "
    "connections since FPM has started.\n"
    "# TYPE phpfpm_max_listen_queue counter\n"
    "phpfpm_max_listen_queue_total 7\n"
    "# HELP phpfpm_listen_queue_length The size of the socket queue of pending connections.\n"
    "# TYPE phpfpm_listen_queue_length gauge\n"
    "phpfpm_listen_queue_length 511\n"
    "# HELP phpfpm_idle_processes The number of idle processes.\n"
    "# TYPE phpfpm_idle_processes gauge\n"
    "phpfpm_idle_processes 3\n"
    "# HELP phpfpm_active_processes The number of active processes.\n"
    "# TYPE phpfpm_active_processes gauge\n"
    "phpfpm_active_processes 2\n"
    "# HELP phpfpm_total_processes The number of idle + active processes.\n"
    "# TYPE phpfpm_total_processes gauge\n"
    "phpfpm_total_processes 5\n"
    "# HELP phpfpm_max_active_processes The maximum number of active processes since FPM has "
    "started.\n"
    "# TYPE phpfpm_max_active_processes counter\n"
    "phpfpm_max_active_processes_total 4\n"
    "# HELP phpfpm_max_children_reached The number of times, the process limit has been "
    "reached, when pm tries to start more children (works only for pm 'dynamic' and "
    "'ondemand').\n"
    "# TYPE phpfpm_max_children_reached counter\n"
    "phpfpm_max_children_reached_total 1\n"
    "# HELP phpfpm_slow_requests The number of requests that exceeded your "
    "'request_slowlog_timeout' value.\n"
    "# TYPE phpfpm_slow_requests counter\n"
    "phpfpm_slow_requests_total 2\n";

TEST_F(RenderTest, OpenMetricsShort) {
  EXPECT_EQ(render(s, Format::OpenMetrics, false), std::string(kOpenMetricsShort) + "# EOF\n");
}

TEST_F(RenderTest, OpenMetricsFull) {
  EXPECT_EQ(render(s, Format::OpenMetrics, true),
            std::string(kOpenMetricsShort) +
                "# HELP phpfpm_process_state The state of the process (Idle, Running, ...): 1 for "
                "its current state.\n"
                "# TYPE phpfpm_process_state gauge\n"
                "phpfpm_process_state{pid=\"101\",state=\"Idle\"} 1\n"
                "phpfpm_process_state{pid=\"102\",state=\"Running\"} 1\n"
                "# HELP phpfpm_process_start_since The number of seconds since the process has "
                "started.\n"
                "# TYPE phpfpm_process_start_since counter\n"
                "phpfpm_process_start_since_total{pid=\"101\"} 3500\n"
                "phpfpm_process_start_since_total{pid=\"102\"} 3400\n"
                "# HELP phpfpm_process_requests The number of requests the process has served.\n"
                "# TYPE phpfpm_process_requests counter\n"
                "phpfpm_process_requests_total{pid=\"101\"} 40\n"
                "phpfpm_process_requests_total{pid=\"102\"} 7\n"
                "# HELP phpfpm_process_request_duration The duration in microseconds of the "
                "running request, or of the last one when the process is idle.\n"
                "# TYPE phpfpm_process_request_duration gauge\n"
                "phpfpm_process_request_duration{pid=\"101\"} 1234\n"
                "phpfpm_process_request_duration{pid=\"102\"} 5000000\n"
                "# HELP phpfpm_process_content_length The content length of the request (POST "
                "only).\n"
                "# TYPE phpfpm_process_content_length gauge\n"
                "phpfpm_process_content_length{pid=\"101\"} 0\n"
                "phpfpm_process_content_length{pid=\"102\"} 42\n"
                "# HELP phpfpm_process_last_request_cpu The %cpu the last request consumed.\n"
                "# TYPE phpfpm_process_last_request_cpu gauge\n"
                "phpfpm_process_last_request_cpu{pid=\"101\"} 12.50\n"
                "phpfpm_process_last_request_cpu{pid=\"102\"} 0.00\n"
                "# HELP phpfpm_process_last_request_memory The max amount of memory the last "
                "request consumed.\n"
                "# TYPE phpfpm_process_last_request_memory gauge\n"
                "phpfpm_process_last_request_memory{pid=\"101\"} 2097152\n"
                "phpfpm_process_last_request_memory{pid=\"102\"} 0\n"
                "# EOF\n");
}

TEST_F(RenderTest, OpenMetricsEscapesThePoolInHelp) {
  s.pool = "a\\b\"c\nd";
  std::string out = render(s, Format::OpenMetrics, false);
  EXPECT_EQ(out.substr(0, out.find('\n')),
            "# HELP phpfpm_up Could pool a\\\\b\\\"c\\nd using a dynamic PM on PHP-FPM be "
            "reached?");
}

TEST_F(RenderTest, EmptyStringsArePlaceholders) {
  ProcessRow p;
  p.pid = 7;
  p.state = "Idle";
  s.processes = {p};
  std::string out = render(s, Format::Plain, true);
  EXPECT_NE(out.find("request method:       -\n"), std::string::npos);
  EXPECT_NE(out.find("request URI:          -\n"), std::string::npos);
  EXPECT_NE(out.find("user:                 -\n"), std::string::npos);
  EXPECT_NE(out.find("script:               -\n"), std::string::npos);
}

TEST(Escape, JsonAsPhpJsonEncode) {
  // As php-fpm 8.2 showed it for a request to "/d ir/sl\"e<ep>.php?a=<b>&c=\"d\"&e=\/é".
  EXPECT_EQ(json_escape("/d ir/sl\"e<ep>.php"), "\\/d ir\\/sl\\\"e<ep>.php");
  EXPECT_EQ(json_escape("a=<b>&c=\"d\"&e=\\/\xc3\xa9"), "a=<b>&c=\\\"d\\\"&e=\\\\\\/\\u00e9");
  EXPECT_EQ(json_escape("q='x'%09\t"), "q='x'%09\\t");
  EXPECT_EQ(json_escape(std::string("\b\f\n\r\x01\x1f\x7f", 7)), "\\b\\f\\n\\r\\u0001\\u001f\x7f");
  EXPECT_EQ(json_escape("\xf0\x9f\x98\x80"), "\\ud83d\\ude00");  // U+1F600: a surrogate pair
  EXPECT_EQ(json_escape("a\xff"
                        "b"),
            "a\\ufffdb");                                // invalid UTF-8
  EXPECT_EQ(json_escape("\xe2\x82"), "\\ufffd\\ufffd");  // truncated sequence
}

TEST(Escape, XmlAsHtmlspecialcharsCompat) {
  EXPECT_EQ(xml_escape("a=<b>&c=\"d\"&e='f'"), "a=&lt;b&gt;&amp;c=&quot;d&quot;&amp;e='f'");
  EXPECT_EQ(xml_escape("caf\xc3\xa9\ttab"), "caf\xc3\xa9\ttab");
  EXPECT_EQ(xml_escape(std::string("x\x01y\xffz", 5)), "xyz");  // not representable in XML
}

TEST(Escape, OpenMetrics) {
  EXPECT_EQ(openmetrics_escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(Time, ClfInLocalTime) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(format_clf_time(0), "01/Jan/1970:00:00:00 +0000");
  setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
  tzset();
  EXPECT_EQ(format_clf_time(1700000000), "14/Nov/2023:23:13:20 +0100");
  EXPECT_EQ(format_clf_time(1690000000), "22/Jul/2023:06:26:40 +0200");
  setenv("TZ", "<-0330>3:30", 1);
  tzset();
  EXPECT_EQ(format_clf_time(0), "31/Dec/1969:20:30:00 -0330");
  setenv("TZ", "UTC", 1);
  tzset();
}

TEST(Headers, AsPhpFpmSendsThem) {
  EXPECT_EQ(response_headers(Format::Plain, false),
            "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Cache-Control: no-cache, no-store, must-revalidate, max-age=0\r\n"
            "Content-type: text/plain;charset=UTF-8\r\n\r\n");
  EXPECT_STREQ(content_type_header(Format::Json), "Content-Type: application/json");
  EXPECT_STREQ(content_type_header(Format::Xml), "Content-type: text/xml;charset=UTF-8");
  EXPECT_STREQ(content_type_header(Format::Html), "Content-type: text/html;charset=UTF-8");
  EXPECT_STREQ(content_type_header(Format::OpenMetrics),
               "Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8");
  // HEAD: php-fpm leaves the format out; PHP's default content type goes instead.
  EXPECT_EQ(response_headers(Format::Json, true),
            "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "Cache-Control: no-cache, no-store, must-revalidate, max-age=0\r\n"
            "Content-type: text/html; charset=UTF-8\r\n\r\n");
}

TEST(FormatNames, RoundTrip) {
  for (Format f : {Format::Plain, Format::Json, Format::Xml, Format::Html, Format::OpenMetrics}) {
    Format g;
    ASSERT_TRUE(parse_format_name(format_name(f), g));
    EXPECT_EQ(g, f);
  }
  Format g;
  EXPECT_FALSE(parse_format_name("yaml", g));
}

struct QueryCase {
  const char* query;
  Format format;
  bool full;
};

// Every case was checked against php-fpm 8.2.
const QueryCase kQueries[] = {
    {"", Format::Plain, false},
    {"json", Format::Json, false},
    {"xml", Format::Xml, false},
    {"html", Format::Html, false},
    {"openmetrics", Format::OpenMetrics, false},
    {"full", Format::Plain, true},
    {"json&full", Format::Json, true},
    {"xml&full", Format::Xml, true},
    {"html&full", Format::Html, true},
    {"openmetrics&full", Format::OpenMetrics, true},
    {"full&json", Format::Json, true},
    {"json=1&full=0", Format::Json, true},  // presence counts, not the value
    {"json=", Format::Json, false},
    {"jsonx", Format::Plain, false},
    {"JSON", Format::Plain, false},  // case-sensitive
    {"j", Format::Json, false},      // a prefix selects (php-fpm compares strlen(name) bytes)
    {"x", Format::Xml, false},
    {"h", Format::Html, false},
    {"o", Format::OpenMetrics, false},
    {"f", Format::Plain, true},
    {"fu", Format::Plain, true},
    {"j&f", Format::Json, true},
    {"fulll", Format::Plain, false},
    {"json&xml", Format::Xml, false},  // html, then xml, then json, then openmetrics
    {"xml&html", Format::Html, false},
    {"openmetrics&json", Format::Json, false},
    {"js%6Fn", Format::Json, false},  // URL-decoded
    {"json[]=1", Format::Json, false},
    {"json[", Format::Plain, false},  // an unclosed '[' is '_'
    {" json", Format::Json, false},   // leading spaces dropped
    {"jso.n", Format::Plain, false},
    {"json+", Format::Plain, false},  // '+' is a space, then '_'
    {"js+on", Format::Plain, false},
    {"json;full", Format::Plain, false},
    {"a=b=json", Format::Plain, false},
    {"&json", Format::Json, false},
    {"json&&full", Format::Json, true},
};

TEST(Query, PhpFpmRules) {
  for (auto& c : kQueries) {
    Query q = parse_status_query(c.query);
    EXPECT_EQ(q.format, c.format) << "query: '" << c.query << "'";
    EXPECT_EQ(q.full, c.full) << "query: '" << c.query << "'";
  }
}

}  // namespace
}  // namespace php_pool::status
