// FastCGI codec tests. Byte vectors are built by hand from the FastCGI 1.0 specification, not with
// the encoders under test, unless a test is about an encoder's round trip.
#include "fastcgi/codec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

namespace php_pool::fastcgi {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Bytes from a list of integers.
std::string B(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// A record header, as section 3.3 lays it out.
std::string H(int type, int id, int content_length, int padding_length, int version = 1) {
  return B({version, type, id >> 8, id & 0xff, content_length >> 8, content_length & 0xff,
            padding_length, 0});
}

// A record with its content and `padding` zero bytes.
std::string R(int type, int id, const std::string& content, int padding = 0) {
  return H(type, id, static_cast<int>(content.size()), padding) + content +
         std::string(static_cast<size_t>(padding), '\0');
}

std::string BeginBody(int role, int flags) {
  return B({role >> 8, role & 0xff, flags, 0, 0, 0, 0, 0});
}

std::string Begin(int id, int role = 1, int flags = 1) {
  return R(1, id, BeginBody(role, flags));
}

std::string EndRequestBytes(int id, uint32_t app_status, int protocol_status) {
  return H(3, id, 8, 0) +
         B({static_cast<int>(app_status >> 24), static_cast<int>((app_status >> 16) & 0xff),
            static_cast<int>((app_status >> 8) & 0xff), static_cast<int>(app_status & 0xff),
            protocol_status, 0, 0, 0});
}

// Name-value pair with lengths encoded by hand.
std::string Len(size_t n) {
  if (n < 128) return B({static_cast<int>(n)});
  return B({static_cast<int>(((n >> 24) & 0x7f) | 0x80), static_cast<int>((n >> 16) & 0xff),
            static_cast<int>((n >> 8) & 0xff), static_cast<int>(n & 0xff)});
}
std::string NV(const std::string& name, const std::string& value) {
  return Len(name.size()) + Len(value.size()) + name + value;
}

// A readable rendering of events, so mismatches show up as text diffs.
std::string Describe(const std::vector<Event>& events) {
  std::string out;
  for (const Event& e : events) {
    switch (e.kind) {
      case Event::Kind::Begin:
        out += "Begin(" + std::to_string(e.request_id) + (e.keep_conn ? ",keep" : ",close") + ")";
        break;
      case Event::Kind::Params:
        out += "Params(" + std::to_string(e.request_id);
        for (const auto& [n, v] : e.params) out += "," + n + "=" + v;
        out += ")";
        break;
      case Event::Kind::Stdin:
        out += "Stdin(" + std::to_string(e.request_id) + "," + e.data + ")";
        break;
      case Event::Kind::StdinEnd:
        out += "StdinEnd(" + std::to_string(e.request_id) + ")";
        break;
      case Event::Kind::Abort:
        out += "Abort(" + std::to_string(e.request_id) + ")";
        break;
      case Event::Kind::Refused:
        out += "Refused(" + std::to_string(e.request_id) + (e.keep_conn ? ",keep" : ",close") + ")";
        break;
    }
    if (e.kind != Event::Kind::Params && !e.params.empty()) out += "[stray params]";
    if (e.kind != Event::Kind::Stdin && !e.data.empty()) out += "[stray data]";
    if (e.kind != Event::Kind::Begin && e.kind != Event::Kind::Refused && e.keep_conn)
      out += "[stray keep_conn]";
    out += "\n";
  }
  return out;
}

struct Outcome {
  bool ok = true;
  std::string events;  // Describe()d
  std::string replies;
  std::string error;
};

// Feeds `segments` in chunks of sizes chosen by `next_chunk`, calling request_done() between
// segments when the events so far finished a request (StdinEnd or Abort), as a worker would.
Outcome Feed(const std::vector<std::string>& segments, const std::function<size_t()>& next_chunk,
             Limits limits = {}) {
  ServerDecoder d(limits, 4, 2);
  std::vector<Event> events;
  Outcome o;
  for (size_t s = 0; s < segments.size() && o.ok; ++s) {
    const std::string& seg = segments[s];
    for (size_t pos = 0; pos < seg.size() && o.ok;) {
      const size_t n = std::min(std::max<size_t>(next_chunk(), 1), seg.size() - pos);
      o.ok = d.feed(std::string_view(seg).substr(pos, n), events, o.replies);
      pos += n;
    }
    if (o.ok && d.current_request() != 0 && !events.empty() &&
        (events.back().kind == Event::Kind::StdinEnd || events.back().kind == Event::Kind::Abort)) {
      d.request_done();
    }
  }
  o.events = Describe(events);
  o.error = d.error();
  EXPECT_EQ(o.ok, o.error.empty());
  return o;
}

Outcome Whole(const std::vector<std::string>& segments, Limits limits = {}) {
  return Feed(
      segments, [] { return SIZE_MAX; }, limits);
}

// The same input fed whole, one byte at a time, and in pseudo-random chunks gives the same result.
void ExpectSplitInvariant(const std::vector<std::string>& segments, Limits limits = {}) {
  const Outcome whole = Whole(segments, limits);
  const Outcome bytewise = Feed(
      segments, [] { return size_t{1}; }, limits);
  EXPECT_EQ(whole.ok, bytewise.ok);
  EXPECT_EQ(whole.events, bytewise.events);
  EXPECT_EQ(whole.replies, bytewise.replies);
  EXPECT_EQ(whole.error, bytewise.error);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    const Outcome random = Feed(
        segments, [&] { return size_t{rng() % 23 + 1}; }, limits);
    EXPECT_EQ(whole.ok, random.ok) << "seed " << seed;
    EXPECT_EQ(whole.events, random.events) << "seed " << seed;
    EXPECT_EQ(whole.replies, random.replies) << "seed " << seed;
    EXPECT_EQ(whole.error, random.error) << "seed " << seed;
  }
}

// A whole RESPONDER request as nginx sends it.
std::string SimpleRequest(int id, const std::string& body, int flags = 1) {
  std::string params = NV("SCRIPT_FILENAME", "/srv/www/index.php") + NV("REQUEST_METHOD", "POST");
  std::string s =
      Begin(id, 1, flags) + R(4, id, params, (8 - params.size() % 8) % 8) + R(4, id, "");
  if (!body.empty()) s += R(5, id, body, (8 - body.size() % 8) % 8);
  return s + R(5, id, "");
}
const char* const kSimpleEvents =
    "Params(%d,SCRIPT_FILENAME=/srv/www/index.php,REQUEST_METHOD=POST)\n";

// ---------------------------------------------------------------------------------------------
// Headers and name-value pairs

TEST(Header, EncodeExactBytes) {
  Header h;
  h.type = RecordType::Stdout;
  h.request_id = 0x1234;
  h.content_length = 0xabcd;
  h.padding_length = 3;
  uint8_t out[kHeaderSize];
  encode_header(h, out);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), kHeaderSize),
            B({0x01, 0x06, 0x12, 0x34, 0xab, 0xcd, 0x03, 0x00}));
}

TEST(Header, ParseExactBytes) {
  const std::string in = B({0x01, 0x05, 0xfe, 0x01, 0x00, 0x10, 0x07, 0x99});
  const Header h = parse_header(reinterpret_cast<const uint8_t*>(in.data()));
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.type, RecordType::Stdin);
  EXPECT_EQ(h.request_id, 0xfe01);
  EXPECT_EQ(h.content_length, 16);
  EXPECT_EQ(h.padding_length, 7);
}

TEST(Header, ParseKeepsUnknownTypeAndVersion) {
  const std::string in = B({0x02, 0xee, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00});
  const Header h = parse_header(reinterpret_cast<const uint8_t*>(in.data()));
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(static_cast<int>(h.type), 0xee);
  EXPECT_EQ(h.content_length, 65535);
  EXPECT_EQ(h.padding_length, 255);
}

TEST(NameValue, OneByteLengths) {
  std::string out;
  append_name_value(out, "AB", "xyz");
  EXPECT_EQ(out, B({2, 3, 'A', 'B', 'x', 'y', 'z'}));
  out.clear();
  append_name_value(out, "", "");
  EXPECT_EQ(out, B({0, 0}));
}

TEST(NameValue, LengthBoundary127And128) {
  std::string out;
  append_name_value(out, std::string(127, 'n'), std::string(128, 'v'));
  EXPECT_EQ(out.substr(0, 5), B({127, 0x80, 0x00, 0x00, 0x80}));
  EXPECT_EQ(out.size(), 5u + 127 + 128);
}

TEST(NameValue, FourByteLengths) {
  std::string out;
  append_name_value(out, std::string(300, 'N'), std::string(0x012345, 'V'));
  EXPECT_EQ(out.substr(0, 8), B({0x80, 0x00, 0x01, 0x2c, 0x80, 0x01, 0x23, 0x45}));
  Params p;
  ASSERT_TRUE(decode_name_values(out, p));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].first, std::string(300, 'N'));
  EXPECT_EQ(p[0].second, std::string(0x012345, 'V'));
}

TEST(NameValue, DecodeSeveralPairs) {
  const std::string body = NV("A", "1") + NV("EMPTY", "") + NV(std::string(200, 'k'), "v") +
                           B({0x80, 0, 0, 1, 0x80, 0, 0, 2, 'x', 'y', 'z'});
  Params p;
  ASSERT_TRUE(decode_name_values(body, p));
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], Param("A", "1"));
  EXPECT_EQ(p[1], Param("EMPTY", ""));
  EXPECT_EQ(p[2], Param(std::string(200, 'k'), "v"));
  EXPECT_EQ(p[3], Param("x", "yz"));  // 4-byte lengths for short strings are legal
}

TEST(NameValue, DecodeEmptyBody) {
  Params p;
  EXPECT_TRUE(decode_name_values("", p));
  EXPECT_THAT(p, IsEmpty());
}

TEST(NameValue, DecodeAppends) {
  Params p{{"old", "1"}};
  ASSERT_TRUE(decode_name_values(NV("new", "2"), p));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1], Param("new", "2"));
}

TEST(NameValue, DecodeMalformed) {
  const std::vector<std::string> bad = {
      B({5}),                               // value length missing
      B({0x80, 0, 0}),                      // 4-byte name length truncated
      B({1, 0x80, 0, 0}),                   // 4-byte value length truncated
      B({3, 0, 'a', 'b'}),                  // name runs past the end
      B({1, 3, 'a', 'b', 'c'}),             // value runs past the end
      NV("ok", "1") + B({1}),               // trailing garbage after a good pair
      B({0xff, 0xff, 0xff, 0xff, 0, 'x'}),  // huge name length
      B({0, 0xff, 0xff, 0xff, 0xff}),       // huge value length
  };
  for (const std::string& body : bad) {
    Params p;
    EXPECT_FALSE(decode_name_values(body, p)) << ::testing::PrintToString(body);
    EXPECT_THAT(p, IsEmpty()) << "a malformed body appends nothing";
  }
}

// ---------------------------------------------------------------------------------------------
// Encoders

TEST(Encode, BeginRequest) {
  std::string out;
  append_begin_request(out, 1, Role::Responder, true);
  EXPECT_EQ(out, B({1, 1, 0, 1, 0, 8, 0, 0, /**/ 0, 1, 1, 0, 0, 0, 0, 0}));
  out.clear();
  append_begin_request(out, 0x0102, Role::Filter, false);
  EXPECT_EQ(out, B({1, 1, 1, 2, 0, 8, 0, 0, /**/ 0, 3, 0, 0, 0, 0, 0, 0}));
}

TEST(Encode, EndRequest) {
  std::string out;
  append_end_request(out, 7, 0x01020304, ProtocolStatus::RequestComplete);
  EXPECT_EQ(out, B({1, 3, 0, 7, 0, 8, 0, 0, /**/ 1, 2, 3, 4, 0, 0, 0, 0}));
  out.clear();
  append_end_request(out, 0x0100, 0, ProtocolStatus::Overloaded);
  EXPECT_EQ(out, B({1, 3, 1, 0, 0, 8, 0, 0, /**/ 0, 0, 0, 0, 2, 0, 0, 0}));
}

TEST(Encode, StreamSmallIsPadded) {
  std::string out = "prefix";
  append_stream(out, RecordType::Stdout, 1, "hello");
  EXPECT_EQ(out, "prefix" + B({1, 6, 0, 1, 0, 5, 3, 0}) + "hello" + B({0, 0, 0}));
}

TEST(Encode, StreamMultipleOfEightHasNoPadding) {
  std::string out;
  append_stream(out, RecordType::Stderr, 2, "12345678");
  EXPECT_EQ(out, B({1, 7, 0, 2, 0, 8, 0, 0}) + "12345678");
}

TEST(Encode, StreamEmptyAppendsNothing) {
  std::string out = "x";
  append_stream(out, RecordType::Stdout, 1, "");
  EXPECT_EQ(out, "x");
}

TEST(Encode, StreamEnd) {
  std::string out;
  append_stream_end(out, RecordType::Stdout, 0x0203);
  EXPECT_EQ(out, B({1, 6, 2, 3, 0, 0, 0, 0}));
}

TEST(Encode, StreamOf70000BytesIsTwoRecords) {
  std::string data(70000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::string out;
  append_stream(out, RecordType::Stdout, 1, data);
  // 65535 content + 1 padding, then 4465 content + 7 padding.
  ASSERT_EQ(out.size(), 8u + 65535 + 1 + 8 + 4465 + 7);
  EXPECT_EQ(out.substr(0, 8), B({1, 6, 0, 1, 0xff, 0xff, 1, 0}));
  EXPECT_EQ(out.substr(8, 65535), data.substr(0, 65535));
  EXPECT_EQ(out.substr(8 + 65535, 1), B({0}));
  const size_t second = 8 + 65535 + 1;
  EXPECT_EQ(out.substr(second, 8), B({1, 6, 0, 1, 0x11, 0x71, 7, 0}));
  EXPECT_EQ(out.substr(second + 8, 4465), data.substr(65535));
  EXPECT_EQ(out.substr(second + 8 + 4465), std::string(7, '\0'));
}

TEST(Encode, StreamOfExactlyMaxContentIsOneRecord) {
  std::string out;
  append_stream(out, RecordType::Stdout, 1, std::string(kMaxContent, 'x'));
  EXPECT_EQ(out.size(), 8u + 65535 + 1);
  EXPECT_EQ(out.substr(0, 8), B({1, 6, 0, 1, 0xff, 0xff, 1, 0}));
}

TEST(Encode, Params) {
  std::string out;
  append_params(out, 1, {{"A", "1"}, {"BB", ""}});
  // Body: 01 01 'A' '1' 02 00 'B' 'B' = 8 bytes, no padding; then the empty PARAMS record.
  EXPECT_EQ(out, B({1, 4, 0,   1,   0,      8, 0, 0, 1, 1, 'A', '1',
                    2, 0, 'B', 'B', /**/ 1, 4, 0, 1, 0, 0, 0,   0}));
  out.clear();
  append_params(out, 3, {});
  EXPECT_EQ(out, B({1, 4, 0, 3, 0, 0, 0, 0}));
}

TEST(Encode, LargeParamsSplitAcrossRecordsRoundTrip) {
  Params params = {{"HTTP_COOKIE", std::string(100000, 'c')}, {"X", "y"}};
  std::string out;
  append_begin_request(out, 1, Role::Responder, false);
  append_params(out, 1, params);
  append_stream_end(out, RecordType::Stdin, 1);
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(out, events, replies)) << d.error();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].params, params);
}

// ---------------------------------------------------------------------------------------------
// ServerDecoder: requests

TEST(Decoder, SimpleRequestEvents) {
  const std::string in =
      // BEGIN_REQUEST id 1, RESPONDER, KEEP_CONN
      B({1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}) +
      // PARAMS: "SCRIPT_NAME" = "/a.php" (2 + 11 + 6 = 19 bytes, padding 5)
      B({1, 4, 0, 1, 0, 19, 5, 0, 11, 6}) + "SCRIPT_NAME/a.php" + B({0, 0, 0, 0, 0}) +
      B({1, 4, 0, 1, 0, 0, 0, 0}) +
      // STDIN "body" padded to 8, then the empty STDIN record
      B({1, 5, 0, 1, 0, 4, 4, 0}) + "body" + B({0, 0, 0, 0}) + B({1, 5, 0, 1, 0, 0, 0, 0});
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(in, events, replies)) << d.error();
  EXPECT_EQ(Describe(events),
            "Begin(1,keep)\nParams(1,SCRIPT_NAME=/a.php)\nStdin(1,body)\nStdinEnd(1)\n");
  EXPECT_THAT(replies, IsEmpty());
  EXPECT_EQ(d.current_request(), 1);
  EXPECT_THAT(d.error(), IsEmpty());
}

TEST(Decoder, KeepConnFlagCleared) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(Begin(9, 1, 0), events, replies));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Event::Kind::Begin);
  EXPECT_EQ(events[0].request_id, 9);
  EXPECT_FALSE(events[0].keep_conn);
}

TEST(Decoder, OtherFlagBitsIgnored) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(Begin(2, 1, 0xfe), events, replies));
  EXPECT_EQ(Describe(events), "Begin(2,close)\n");
}

TEST(Decoder, EmptyParamsStream) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(Begin(1) + R(4, 1, ""), events, replies));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, Event::Kind::Params);
  EXPECT_THAT(events[1].params, IsEmpty());
}

TEST(Decoder, StdinEventPerRecord) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  const std::string big(kMaxContent, 'b');
  ASSERT_TRUE(d.feed(
      Begin(1) + R(4, 1, "") + R(5, 1, "first", 3) + R(5, 1, big, 1) + R(5, 1, "x") + R(5, 1, ""),
      events, replies));
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[2].data, "first");
  EXPECT_EQ(events[3].data, big);
  EXPECT_EQ(events[4].data, "x");
  EXPECT_EQ(events[5].kind, Event::Kind::StdinEnd);
}

TEST(Decoder, StdinEventsArriveBeforeTheBodyEnds) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(Begin(1) + R(4, 1, "") + R(5, 1, "part1", 3), events, replies));
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1)\nStdin(1,part1)\n");
  events.clear();
  // Half a record: no event until its content is complete.
  const std::string rec = R(5, 1, "part2");
  ASSERT_TRUE(d.feed(rec.substr(0, 10), events, replies));
  EXPECT_THAT(events, IsEmpty());
  ASSERT_TRUE(d.feed(rec.substr(10), events, replies));
  EXPECT_EQ(Describe(events), "Stdin(1,part2)\n");
}

TEST(Decoder, PaddingUpTo255IsSkipped) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(H(1, 1, 8, 255) + BeginBody(1, 1) + std::string(255, 'P') +
                         R(4, 1, NV("A", "b"), 200) + R(4, 1, "", 17) + R(5, 1, "", 255),
                     events, replies))
      << d.error();
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1,A=b)\nStdinEnd(1)\n");
}

TEST(Decoder, DataRecordsAreIgnored) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(
      d.feed(Begin(1) + R(4, 1, "") + R(8, 1, "filter data") + R(5, 1, ""), events, replies));
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1)\nStdinEnd(1)\n");
}

TEST(Decoder, ParamsPairsSplitAcrossRecordsAtEveryByte) {
  // A pair with 4-byte lengths and a pair with 1-byte lengths; cut the stream at every offset.
  const std::string body = NV(std::string(130, 'N'), std::string(300, 'V')) + NV("K", "v");
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    std::string in = Begin(1);
    if (cut > 0) in += R(4, 1, body.substr(0, cut));
    if (cut < body.size()) in += R(4, 1, body.substr(cut), 3);
    in += R(4, 1, "");
    ServerDecoder d;
    std::vector<Event> events;
    std::string replies;
    ASSERT_TRUE(d.feed(in, events, replies)) << "cut " << cut << ": " << d.error();
    ASSERT_EQ(events.size(), 2u);
    ASSERT_EQ(events[1].params.size(), 2u) << "cut " << cut;
    EXPECT_EQ(events[1].params[0], Param(std::string(130, 'N'), std::string(300, 'V')));
    EXPECT_EQ(events[1].params[1], Param("K", "v"));
  }
}

TEST(Decoder, ManyShortPairsCutIntoThreeRecordsAnywhere) {
  Params expected;
  std::string body;
  for (int i = 0; i < 12; ++i) {
    const std::string name(1, static_cast<char>('a' + i));
    const std::string value(static_cast<size_t>(i % 3), 'v');
    expected.emplace_back(name, value);
    body += NV(name, value);
  }
  body += NV(std::string(140, 'L'), "tail");  // and one with a 4-byte length
  expected.emplace_back(std::string(140, 'L'), "tail");
  for (size_t a = 0; a <= body.size(); ++a) {
    for (size_t b = a; b <= body.size(); b += 3) {
      std::string in = Begin(1);
      // Only non-empty pieces: an empty PARAMS record ends the stream.
      for (const std::string& piece : {body.substr(0, a), body.substr(a, b - a), body.substr(b)}) {
        if (!piece.empty()) in += R(4, 1, piece);
      }
      in += R(4, 1, "");
      ServerDecoder d;
      std::vector<Event> events;
      std::string replies;
      ASSERT_TRUE(d.feed(in, events, replies)) << a << "," << b << ": " << d.error();
      ASSERT_EQ(events.size(), 2u);
      ASSERT_EQ(events[1].params, expected) << a << "," << b;
    }
  }
}

TEST(Decoder, LargeParamsWithFourByteLengths) {
  // A 200 KB value: 4-byte lengths, the stream split over four PARAMS records.
  const std::string value(200000, 'q');
  const std::string body = NV("HTTP_X_BIG", value) + NV(std::string(1000, 'n'), "short");
  std::string in = Begin(1);
  for (size_t pos = 0; pos < body.size(); pos += kMaxContent) {
    in += R(4, 1, body.substr(pos, kMaxContent));
  }
  in += R(4, 1, "");
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(in, events, replies)) << d.error();
  ASSERT_EQ(events.size(), 2u);
  ASSERT_EQ(events[1].params.size(), 2u);
  EXPECT_EQ(events[1].params[0], Param("HTTP_X_BIG", value));
  EXPECT_EQ(events[1].params[1], Param(std::string(1000, 'n'), "short"));
}

// ---------------------------------------------------------------------------------------------
// ServerDecoder: replies it owes the peer

TEST(Decoder, UnknownRoleRepliesEndRequest) {
  for (int role : {2, 3, 0, 0x1234}) {
    ServerDecoder d;
    std::vector<Event> events;
    std::string replies;
    ASSERT_TRUE(d.feed(Begin(5, role), events, replies));
    EXPECT_EQ(Describe(events), "Refused(5,keep)\n");
    EXPECT_EQ(replies, B({1, 3, 0, 5, 0, 8, 0, 0, /**/ 0, 0, 0, 0, 3, 0, 0, 0}));
    EXPECT_EQ(d.current_request(), 0);
    // The refused request's records are ignored; a RESPONDER request may follow.
    replies.clear();
    events.clear();
    ASSERT_TRUE(
        d.feed(R(4, 5, NV("A", "b")) + R(4, 5, "") + Begin(6) + R(4, 6, ""), events, replies));
    EXPECT_EQ(Describe(events), "Begin(6,keep)\nParams(6)\n");
    EXPECT_THAT(replies, IsEmpty());
  }
}

TEST(Decoder, UnknownRoleWithoutKeepConnSaysSo) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(Begin(7, 2, 0), events, replies));
  EXPECT_EQ(Describe(events), "Refused(7,close)\n");
  EXPECT_EQ(replies, EndRequestBytes(7, 0, 3));
}

TEST(Decoder, SecondRequestGetsCantMpxConn) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(Begin(1) + R(4, 1, "") + Begin(2) + R(4, 2, NV("X", "y")) + R(4, 2, "") +
                         R(5, 2, "ignored") + R(5, 1, "mine") + Begin(3, 2) + R(5, 1, ""),
                     events, replies));
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1)\nStdin(1,mine)\nStdinEnd(1)\n");
  // CANT_MPX_CONN for 2 and for 3 (busy wins over the unknown role).
  EXPECT_EQ(replies, EndRequestBytes(2, 0, 1) + EndRequestBytes(3, 0, 1));
  EXPECT_EQ(replies.substr(0, 16), B({1, 3, 0, 2, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(d.current_request(), 1);
}

TEST(Decoder, GetValuesAnswersKnownNames) {
  ServerDecoder d({}, 16, 32);
  std::vector<Event> events;
  std::string replies;
  const std::string body = NV("FCGI_MAX_CONNS", "") + NV("FCGI_MAX_REQS", "") +
                           NV("FCGI_MPXS_CONNS", "") + NV("SOMETHING_ELSE", "");
  ASSERT_TRUE(d.feed(R(9, 0, body, (8 - body.size() % 8) % 8), events, replies)) << d.error();
  EXPECT_THAT(events, IsEmpty());
  // 2+14+2 + 2+13+2 + 2+15+1 = 53 bytes of content, padded with 3.
  const std::string expected_body = B({14, 2}) + "FCGI_MAX_CONNS16" + B({13, 2}) +
                                    "FCGI_MAX_REQS32" + B({15, 1}) + "FCGI_MPXS_CONNS0";
  ASSERT_EQ(expected_body.size(), 53u);
  EXPECT_EQ(replies, B({1, 10, 0, 0, 0, 53, 3, 0}) + expected_body + B({0, 0, 0}));
}

TEST(Decoder, GetValuesAnswersOnlyWhatIsAskedInOrderOnce) {
  ServerDecoder d({}, 7, 9);
  std::vector<Event> events;
  std::string replies;
  const std::string body =
      NV("FCGI_MPXS_CONNS", "") + NV("FCGI_MAX_REQS", "") + NV("FCGI_MPXS_CONNS", "");
  ASSERT_TRUE(d.feed(R(9, 0, body), events, replies));
  const std::string expected_body = B({15, 1}) + "FCGI_MPXS_CONNS0" + B({13, 1}) + "FCGI_MAX_REQS9";
  EXPECT_EQ(replies, R(10, 0, expected_body, (8 - expected_body.size() % 8) % 8));
}

TEST(Decoder, GetValuesEmptyAndUnknownOnly) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(R(9, 0, "") + R(9, 0, NV("NOPE", "")), events, replies));
  EXPECT_EQ(replies, B({1, 10, 0, 0, 0, 0, 0, 0, /**/ 1, 10, 0, 0, 0, 0, 0, 0}));
}

TEST(Decoder, GetValuesDuringARequest) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(
      d.feed(Begin(1) + R(4, 1, NV("A", "1")) + R(9, 0, NV("FCGI_MPXS_CONNS", "")) + R(4, 1, ""),
             events, replies));
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1,A=1)\n");
  EXPECT_EQ(replies, R(10, 0, B({15, 1}) + "FCGI_MPXS_CONNS0", 6));
}

TEST(Decoder, GetValuesMalformedIsAnError) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  EXPECT_FALSE(d.feed(R(9, 0, B({20, 0, 'x'})), events, replies));
  EXPECT_THAT(d.error(), HasSubstr("GET_VALUES"));
  EXPECT_THAT(replies, IsEmpty());
}

TEST(Decoder, UnknownManagementTypeRepliesUnknownType) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(
      d.feed(R(12, 0, "whatever", 0) + R(0xff, 0, "") + R(1, 0, BeginBody(1, 1)), events, replies));
  EXPECT_THAT(events, IsEmpty());
  EXPECT_EQ(replies, B({1, 11, 0, 0, 0, 8, 0, 0, /**/ 12,   0, 0, 0, 0, 0, 0, 0,  //
                        1, 11, 0, 0, 0, 8, 0, 0, /**/ 0xff, 0, 0, 0, 0, 0, 0, 0,  //
                        1, 11, 0, 0, 0, 8, 0, 0, /**/ 1,    0, 0, 0, 0, 0, 0, 0}));
}

// ---------------------------------------------------------------------------------------------
// ServerDecoder: abort, other ids, request_done

TEST(Decoder, AbortCurrentRequest) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(
      d.feed(Begin(3) + R(4, 3, "") + R(5, 3, "abc") + R(2, 3, "") + R(5, 3, "late") + R(2, 3, ""),
             events, replies));
  // Records of an aborted request, a second ABORT included, are ignored.
  EXPECT_EQ(Describe(events), "Begin(3,keep)\nParams(3)\nStdin(3,abc)\nAbort(3)\n");
  EXPECT_THAT(replies, IsEmpty());
  EXPECT_EQ(d.current_request(), 3);
}

TEST(Decoder, AbortWhileReadingParams) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(
      d.feed(Begin(3) + R(4, 3, NV("A", "b")) + R(2, 3, "") + R(4, 3, ""), events, replies));
  EXPECT_EQ(Describe(events), "Begin(3,keep)\nAbort(3)\n");
}

TEST(Decoder, AbortForOtherRequestIsIgnored) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(R(2, 4, "") + Begin(3) + R(2, 4, ""), events, replies));
  EXPECT_EQ(Describe(events), "Begin(3,keep)\n");
}

TEST(Decoder, RecordsForOtherIdsAreIgnored) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  // Before any BEGIN, and while request 1 is in progress. Unknown and server-side record types
  // for other ids are ignored too.
  ASSERT_TRUE(d.feed(R(4, 2, B({9})) + R(5, 2, "x") + R(6, 2, "out") + R(77, 2, "") + Begin(1) +
                         R(4, 2, "") + R(4, 1, NV("A", "1")) + R(5, 9, "y") + R(4, 1, "") +
                         R(3, 7, EndRequestBytes(7, 0, 0).substr(8)) + R(5, 1, ""),
                     events, replies))
      << d.error();
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1,A=1)\nStdinEnd(1)\n");
  EXPECT_THAT(replies, IsEmpty());
}

TEST(Decoder, RequestDoneAllowsTheNextRequest) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(SimpleRequest(1, "one"), events, replies));
  EXPECT_EQ(d.current_request(), 1);
  d.request_done();
  EXPECT_EQ(d.current_request(), 0);
  // Late records of the finished request are ignored; the same id may be reused.
  ASSERT_TRUE(
      d.feed(R(5, 1, "late") + SimpleRequest(1, "two") + SimpleRequest(2, ""), events, replies));
  d.request_done();
  ASSERT_TRUE(d.feed(Begin(2, 1, 0), events, replies));
  char buf[128];
  std::snprintf(buf, sizeof buf, kSimpleEvents, 1);
  const std::string p1 = buf;
  EXPECT_EQ(Describe(events), "Begin(1,keep)\n" + p1 + "Stdin(1,one)\nStdinEnd(1)\n" +
                                  "Begin(1,keep)\n" + p1 + "Stdin(1,two)\nStdinEnd(1)\n" +
                                  "Begin(2,close)\n");
  // The request 2 sent while request 1 was in progress was refused.
  EXPECT_EQ(replies, EndRequestBytes(2, 0, 1));
}

TEST(Decoder, RequestDoneMidRecordSkipsTheRestOfIt) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  const std::string rec = R(5, 1, "0123456789");
  ASSERT_TRUE(d.feed(Begin(1) + R(4, 1, "") + rec.substr(0, 12), events, replies));
  d.request_done();
  ASSERT_TRUE(d.feed(rec.substr(12) + Begin(1, 1, 0) + R(4, 1, ""), events, replies));
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1)\nBegin(1,close)\nParams(1)\n");
}

TEST(Decoder, RecordBoundaryIsWhereAnotherDecoderCanTakeOver) {
  // A worker hands a kept connection to another only between records (worker/waiter.cpp): the
  // other's new decoder reads the stream from there, late records of the finished request
  // (ignored, as records of an id not in progress) and the next request alike.
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  EXPECT_TRUE(d.at_record_boundary());
  const std::string rec = R(5, 1, "0123456789");
  ASSERT_TRUE(d.feed(Begin(1) + R(4, 1, "") + rec.substr(0, 5), events, replies));
  EXPECT_FALSE(d.at_record_boundary());  // inside a record header
  ASSERT_TRUE(d.feed(rec.substr(5, 7), events, replies));
  EXPECT_FALSE(d.at_record_boundary());  // inside its content
  ASSERT_TRUE(d.feed(rec.substr(12), events, replies));
  EXPECT_TRUE(d.at_record_boundary());
  d.request_done();
  ServerDecoder other;
  std::vector<Event> taken;
  ASSERT_TRUE(other.feed(R(5, 1, "late") + R(5, 1, "") + SimpleRequest(1, "next"), taken, replies));
  char buf[128];
  std::snprintf(buf, sizeof buf, kSimpleEvents, 1);
  EXPECT_EQ(Describe(taken), "Begin(1,keep)\n" + std::string(buf) + "Stdin(1,next)\nStdinEnd(1)\n");
}

TEST(Decoder, RequestDoneMidParamsDropsThem) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(Begin(1) + R(4, 1, NV("OLD", "x")), events, replies));
  d.request_done();
  ASSERT_TRUE(d.feed(Begin(1) + R(4, 1, NV("NEW", "y")) + R(4, 1, ""), events, replies));
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nBegin(1,keep)\nParams(1,NEW=y)\n");
}

// ---------------------------------------------------------------------------------------------
// ServerDecoder: protocol errors

struct ErrorCase {
  const char* name;
  std::string input;
  const char* message_part;
};

TEST(Decoder, ProtocolErrors) {
  const std::vector<ErrorCase> cases = {
      {"version 0", H(1, 1, 8, 0, 0) + BeginBody(1, 1), "version 0"},
      {"version 2 on a management record", H(9, 0, 0, 0, 2), "version 2"},
      {"version 2 mid-stream", Begin(1) + H(4, 1, 0, 0, 2), "version 2"},
      {"version 2 on an ignored id", Begin(1) + H(5, 9, 0, 0, 2), "version 2"},
      {"begin body too short", R(1, 1, B({0, 1, 1, 0})), "BEGIN_REQUEST"},
      {"begin body too long", R(1, 1, BeginBody(1, 1) + "x"), "BEGIN_REQUEST"},
      {"begin for the current id", Begin(1) + Begin(1), "still in progress"},
      {"malformed params", Begin(1) + R(4, 1, B({5, 5, 'a'})) + R(4, 1, ""), "malformed"},
      {"params truncated length", Begin(1) + R(4, 1, B({0x80, 0})) + R(4, 1, ""), "malformed"},
      {"params after params end", Begin(1) + R(4, 1, "") + R(4, 1, NV("A", "")), "PARAMS"},
      {"stdin before params end", Begin(1) + R(5, 1, "x"), "before the end of its PARAMS"},
      {"empty stdin before params end", Begin(1) + R(5, 1, ""), "before the end of its PARAMS"},
      {"stdin after stdin end", Begin(1) + R(4, 1, "") + R(5, 1, "") + R(5, 1, "x"),
       "after the end of its STDIN"},
      {"stdout from the client", Begin(1) + R(6, 1, "x"), "record type 6"},
      {"end request from the client", Begin(1) + R(3, 1, std::string(8, '\0')), "record type 3"},
      {"get values with an id", Begin(1) + R(9, 1, ""), "record type 9"},
      {"unknown type for the current id", Begin(1) + R(42, 1, ""), "record type 42"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    ServerDecoder d;
    std::vector<Event> events;
    std::string replies;
    EXPECT_FALSE(d.feed(c.input, events, replies));
    EXPECT_THAT(d.error(), HasSubstr(c.message_part));
    EXPECT_THAT(replies, IsEmpty());
    // Sticky: the connection is broken, whatever comes next.
    events.clear();
    EXPECT_FALSE(d.feed(Begin(5), events, replies));
    EXPECT_THAT(events, IsEmpty());
    EXPECT_THAT(d.error(), HasSubstr(c.message_part));
    // And the same error one byte at a time.
    ServerDecoder b;
    bool ok = true;
    for (size_t i = 0; i < c.input.size() && ok; ++i) {
      ok = b.feed(std::string_view(c.input).substr(i, 1), events, replies);
    }
    EXPECT_FALSE(ok);
    EXPECT_EQ(b.error(), d.error());
  }
}

TEST(Decoder, EventsBeforeAnErrorAreKept) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  EXPECT_FALSE(
      d.feed(Begin(1) + R(4, 1, NV("A", "b")) + R(4, 1, "") + H(5, 1, 0, 0, 3), events, replies));
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1,A=b)\n");
}

TEST(Decoder, ParamsBoundExceeded) {
  Limits limits;
  limits.max_params_bytes = 100;
  ServerDecoder d(limits);
  std::vector<Event> events;
  std::string replies;
  const std::string body = NV("A", std::string(60, 'x'));  // 63 bytes
  EXPECT_FALSE(d.feed(Begin(1) + R(4, 1, body) + R(4, 1, body) + R(4, 1, ""), events, replies));
  EXPECT_THAT(d.error(), HasSubstr("PARAMS"));
  EXPECT_THAT(d.error(), HasSubstr("100 bytes"));
  EXPECT_EQ(Describe(events), "Begin(1,keep)\n");
}

TEST(Decoder, ParamsBoundSingleRecordTooLarge) {
  Limits limits;
  limits.max_params_bytes = 1000;
  ServerDecoder d(limits);
  std::vector<Event> events;
  std::string replies;
  // Refused on the header, before the content arrives.
  EXPECT_FALSE(d.feed(Begin(1) + H(4, 1, 1001, 0), events, replies));
  EXPECT_THAT(d.error(), HasSubstr("1000 bytes"));
}

TEST(Decoder, ParamsPairClaimingMoreThanTheBoundFailsAtOnce) {
  // 8 bytes claiming a 2 GiB name: refused when the lengths are read, not after a wait for
  // bytes that the bound would refuse anyway (a hostile client's cheap way to hold a worker).
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  const std::string lengths("\xff\xff\xff\xff\x80\x00\x00\x01", 8);
  EXPECT_FALSE(d.feed(Begin(1) + R(4, 1, lengths), events, replies));
  EXPECT_THAT(d.error(), HasSubstr("exceeds the limit"));
  // The same, with the lengths cut by a feed boundary.
  ServerDecoder d2;
  events.clear();
  std::string all = Begin(1) + R(4, 1, lengths);
  ASSERT_TRUE(d2.feed(all.substr(0, all.size() - 5), events, replies)) << d2.error();
  EXPECT_FALSE(d2.feed(all.substr(all.size() - 5), events, replies));
  EXPECT_THAT(d2.error(), HasSubstr("exceeds the limit"));
}

TEST(Decoder, ParamsExactlyAtTheBound) {
  Limits limits;
  limits.max_params_bytes = 126;
  ServerDecoder d(limits);
  std::vector<Event> events;
  std::string replies;
  const std::string body = NV("A", std::string(60, 'x'));  // 63 bytes, twice = 126
  ASSERT_TRUE(d.feed(Begin(1) + R(4, 1, body) + R(4, 1, body) + R(4, 1, ""), events, replies))
      << d.error();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].params.size(), 2u);
}

TEST(Decoder, ParamsBoundIsPerRequest) {
  Limits limits;
  limits.max_params_bytes = 64;
  ServerDecoder d(limits);
  std::vector<Event> events;
  std::string replies;
  const std::string body = NV("A", std::string(60, 'x'));  // 63 bytes
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(d.feed(Begin(1) + R(4, 1, body) + R(4, 1, "") + R(5, 1, ""), events, replies))
        << d.error();
    d.request_done();
  }
  EXPECT_EQ(events.size(), 9u);
}

// ---------------------------------------------------------------------------------------------
// Split invariance: one byte at a time == whole buffer == random chunks

TEST(SplitInvariance, SimpleRequest) {
  ExpectSplitInvariant({SimpleRequest(1, "hello world")});
}

TEST(SplitInvariance, KeepConnTwoSequentialRequests) {
  ExpectSplitInvariant({SimpleRequest(1, "first body"), SimpleRequest(1, "second")});
  ExpectSplitInvariant(
      {SimpleRequest(1, ""), SimpleRequest(2, std::string(70000, 'z')), SimpleRequest(3, "x", 0)});
  const Outcome o = Feed({SimpleRequest(1, "a"), SimpleRequest(1, "b")}, [] { return size_t{1}; });
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_EQ(std::count(o.events.begin(), o.events.end(), '\n'), 8);
}

TEST(SplitInvariance, LargeParamsAndBody) {
  std::string in = Begin(7);
  Params params = {{"HTTP_COOKIE", std::string(70000, 'c')}, {std::string(129, 'n'), "v"}};
  append_params(in, 7, params);
  append_stream(in, RecordType::Stdin, 7, std::string(140000, 'b'));
  append_stream_end(in, RecordType::Stdin, 7);
  ExpectSplitInvariant({in});
}

TEST(SplitInvariance, ManagementRepliesAndRefusals) {
  ExpectSplitInvariant({R(9, 0, NV("FCGI_MAX_CONNS", "") + NV("FCGI_MPXS_CONNS", "")) +
                        R(12, 0, "??") + Begin(4, 2) + Begin(1) + Begin(2) +
                        R(4, 1, NV("A", "b"), 4) + R(9, 0, NV("FCGI_MAX_REQS", "")) + R(4, 1, "") +
                        R(5, 1, "in") + R(2, 1, "") + R(5, 1, "")});
}

TEST(SplitInvariance, Errors) {
  Limits limits;
  limits.max_params_bytes = 50;
  ExpectSplitInvariant(
      {Begin(1) + R(4, 1, NV("A", std::string(30, 'a'))) + R(4, 1, NV("B", std::string(30, 'b')))},
      limits);
  ExpectSplitInvariant({Begin(1) + R(4, 1, "") + R(5, 1, "ok") + H(5, 1, 3, 0, 9) + "bad"});
  ExpectSplitInvariant({SimpleRequest(1, "x") + Begin(1)});
  ExpectSplitInvariant({Begin(1) + R(4, 1, B({0x80, 0, 0, 1, 1, 'a'})) + R(4, 1, "")});
}

TEST(SplitInvariance, EncodedStreamsDecodeBack) {
  // What the encoders produce, the decoder reads, however it is split.
  std::string in;
  append_begin_request(in, 300, Role::Responder, true);
  append_params(in, 300, {{"QUERY_STRING", "a=1&b=2"}, {"CONTENT_LENGTH", "5"}});
  append_stream(in, RecordType::Stdin, 300, "hello");
  append_stream_end(in, RecordType::Stdin, 300);
  ExpectSplitInvariant({in});
  const Outcome o = Whole({in});
  EXPECT_EQ(o.events,
            "Begin(300,keep)\nParams(300,QUERY_STRING=a=1&b=2,CONTENT_LENGTH=5)\n"
            "Stdin(300,hello)\nStdinEnd(300)\n");
}

// ---------------------------------------------------------------------------------------------
// ServerDecoder: reuse across requests and connections (what a worker does)

std::string Request(int id, const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string params;
  for (const auto& [n, v] : pairs) params += NV(n, v);
  std::string records;
  for (size_t off = 0; off < params.size(); off += 65535)
    records += R(4, id, params.substr(off, 65535));
  return Begin(id) + records + R(4, id, "") + R(5, id, "");
}

TEST(DecoderReuse, FirstParamLeadsEveryParamsEvent) {
  ServerDecoder d;
  d.set_first_param("FCGI_ROLE", "RESPONDER");
  std::vector<Event> events;
  std::string replies;
  ASSERT_TRUE(d.feed(Request(1, {{"A", "1"}}), events, replies)) << d.error();
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1,FCGI_ROLE=RESPONDER,A=1)\nStdinEnd(1)\n");
  d.request_done();
  events.clear();
  ASSERT_TRUE(d.feed(Request(2, {}), events, replies)) << d.error();
  EXPECT_EQ(Describe(events), "Begin(2,keep)\nParams(2,FCGI_ROLE=RESPONDER)\nStdinEnd(2)\n");
}

TEST(DecoderReuse, RecycledParamsNeverLeakIntoTheNextRequest) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  Params held;  // what the application holds between requests
  const std::vector<std::vector<std::pair<std::string, std::string>>> requests = {
      {{"SCRIPT_FILENAME", std::string(200, 'a')}, {"B", "2"}, {"C", "3"}},
      {{"X", "only"}},
      {},
      {{"SCRIPT_FILENAME", "/s.php"}, {"HTTP_COOKIE", std::string(100000, 'c')}},
      {{"N", ""}, {"M", "m"}, {"L", std::string(20, 'l')}, {"K", "k"}},
  };
  for (size_t i = 0; i < requests.size(); i++) {
    events.clear();
    const int id = static_cast<int>(i) + 1;
    ASSERT_TRUE(d.feed(Request(id, requests[i]), events, replies)) << d.error();
    ASSERT_EQ(events.size(), 3u);
    ASSERT_EQ(events[1].kind, Event::Kind::Params);
    held.swap(events[1].params);
    d.recycle_params(std::move(events[1].params));
    Params expected;
    for (const auto& p : requests[i]) expected.push_back(p);
    EXPECT_EQ(held, expected) << "request " << id;
    d.request_done();
  }
}

TEST(DecoderReuse, ResetStartsANewConnection) {
  ServerDecoder d;
  std::vector<Event> events;
  std::string replies;
  // A connection that ends half-way through a record, then one that broke the protocol.
  std::string first = Request(1, {{"A", "1"}});
  ASSERT_TRUE(d.feed(first.substr(0, first.size() - 3), events, replies));
  d.reset();
  events.clear();
  ASSERT_TRUE(d.feed(Request(1, {{"B", "2"}}), events, replies)) << d.error();
  EXPECT_EQ(Describe(events), "Begin(1,keep)\nParams(1,B=2)\nStdinEnd(1)\n");
  EXPECT_FALSE(d.feed(H(1, 0, 0, 0, 2), events, replies));
  d.reset();
  events.clear();
  EXPECT_THAT(d.error(), IsEmpty());
  ASSERT_TRUE(d.feed(Request(7, {}), events, replies)) << d.error();
  EXPECT_EQ(Describe(events), "Begin(7,keep)\nParams(7)\nStdinEnd(7)\n");
}

// ---------------------------------------------------------------------------------------------
// ServerDecoder: STDIN as views into the fed bytes (what a worker does, to copy a body once)

// Feeds each segment (one request) in chunks through one reused buffer, consuming the events
// after each feed as a worker does; Stdin pieces are joined per request. The text matches
// Describe() with whole Stdin records joined the same way.
std::string FeedViews(const std::vector<std::string>& segments, size_t chunk, bool views) {
  ServerDecoder d;
  d.set_stdin_views(views);
  std::vector<Event> events;
  std::string replies, out, body;
  std::string buffer(chunk, '\0');
  auto flush_body = [&](uint16_t id) {
    if (!body.empty()) out += "Stdin(" + std::to_string(id) + "," + body + ")\n";
    body.clear();
  };
  for (const std::string& in : segments) {
    for (size_t pos = 0; pos < in.size(); pos += chunk) {
      const size_t n = std::min(chunk, in.size() - pos);
      buffer.replace(0, n, in, pos, n);  // the previous chunk's bytes are gone
      events.clear();
      EXPECT_TRUE(d.feed(std::string_view(buffer.data(), n), events, replies)) << d.error();
      for (const Event& e : events) {
        if (e.kind == Event::Kind::Stdin) {
          if (views) {
            EXPECT_TRUE(e.data.empty());
            EXPECT_TRUE(e.view.data() >= buffer.data() &&
                        e.view.data() + e.view.size() <= buffer.data() + n);
            body += e.view;
          } else {
            EXPECT_TRUE(e.view.empty());
            body += e.data;
          }
          continue;
        }
        flush_body(e.request_id);
        out += Describe({e});
      }
    }
    flush_body(d.current_request());
    d.request_done();
  }
  return out;
}

TEST(DecoderViews, SameBodiesHoweverSplit) {
  std::vector<std::string> segments;
  for (int id : {1, 2}) {
    std::string in;
    append_begin_request(in, static_cast<uint16_t>(id), Role::Responder, true);
    append_params(in, static_cast<uint16_t>(id), {{"CONTENT_LENGTH", "140000"}});
    std::string body(140000, '\0');
    for (size_t i = 0; i < body.size(); i++) body[i] = static_cast<char>('a' + (i * 7 + id) % 26);
    append_stream(in, RecordType::Stdin, static_cast<uint16_t>(id), body);
    append_stream_end(in, RecordType::Stdin, static_cast<uint16_t>(id));
    segments.push_back(in);
  }
  const std::string expected = FeedViews(segments, 1 << 20, false);
  ASSERT_NE(expected.find("StdinEnd(2)"), std::string::npos);
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{8}, size_t{4096}, size_t{65536}}) {
    EXPECT_TRUE(FeedViews(segments, chunk, true) == expected) << "views, chunk " << chunk;
    EXPECT_TRUE(FeedViews(segments, chunk, false) == expected) << "copies, chunk " << chunk;
  }
}

TEST(DecoderViews, PaddingAndAbortAreNotBody) {
  const std::string in =
      Begin(1) + R(4, 1, "") + R(5, 1, "abc", 5) + R(5, 1, "de", 6) + R(2, 1, "") + R(5, 1, "late");
  for (size_t chunk : {size_t{1}, size_t{3}, in.size()})
    EXPECT_EQ(FeedViews({in}, chunk, true), "Begin(1,keep)\nParams(1)\nStdin(1,abcde)\nAbort(1)\n");
}

}  // namespace
}  // namespace php_pool::fastcgi
