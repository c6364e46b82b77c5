// libFuzzer target for the FastCGI server-side decoder.
//
// Input: one configuration byte, then the bytes a peer sends on one connection.
// Checks, abort()ing on any violation:
//  - split invariance: the same bytes fed one at a time, whole, and in chunks of sizes derived
//    from the input give the same events, replies, result and error;
//  - every reply is a well-formed record the server may send (END_REQUEST, GET_VALUES_RESULT,
//    UNKNOWN_TYPE) with a multiple-of-8 length;
//  - a decoded request, re-encoded with the encoders, decodes to the same params and body;
//  - with set_stdin_views(true), fed through a buffer freed after each feed (as a worker reuses
//    its read buffer), the events are the same once consecutive Stdin chunks are joined.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fastcgi/codec.hpp"

namespace {

using namespace php_pool::fastcgi;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_fastcgi: %s\n", what);
  std::abort();
}

bool same(const Event& a, const Event& b) {
  return a.kind == b.kind && a.request_id == b.request_id && a.keep_conn == b.keep_conn &&
         a.params == b.params && a.data == b.data;
}

struct Outcome {
  bool ok = true;
  std::vector<Event> events;
  std::string replies;
  std::string error;
};

struct Config {
  Limits limits;
  unsigned max_conns = 1;
  unsigned max_reqs = 1;
};

// Byte-at-a-time reference run. A worker calls request_done() once a request's input is
// complete (StdinEnd) or aborted; the offsets where it did so are recorded in done_at, so the
// other runs can call it at the same stream positions.
Outcome run_bytewise(const Config& cfg, std::string_view in, std::vector<size_t>& done_at) {
  ServerDecoder d(cfg.limits, cfg.max_conns, cfg.max_reqs);
  Outcome o;
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t before = o.events.size();
    if (!d.feed(in.substr(i, 1), o.events, o.replies)) {
      o.ok = false;
      break;
    }
    if (o.events.size() > before && d.current_request() != 0 &&
        (o.events.back().kind == Event::Kind::StdinEnd ||
         o.events.back().kind == Event::Kind::Abort)) {
      d.request_done();
      done_at.push_back(i + 1);
    }
  }
  o.error = d.error();
  return o;
}

// Feeds `in` in chunks of sizes from next_chunk(), never across a done_at offset, calling
// request_done() at each of them.
template <typename NextChunk>
Outcome run_split(const Config& cfg, std::string_view in, const std::vector<size_t>& done_at,
                  NextChunk next_chunk) {
  ServerDecoder d(cfg.limits, cfg.max_conns, cfg.max_reqs);
  Outcome o;
  size_t pos = 0;
  size_t next_done = 0;
  while (pos < in.size()) {
    size_t end = in.size();
    if (next_done < done_at.size()) end = done_at[next_done];
    const size_t n = std::min(std::max<size_t>(next_chunk(), 1), end - pos);
    if (!d.feed(in.substr(pos, n), o.events, o.replies)) {
      o.ok = false;
      break;
    }
    pos += n;
    if (next_done < done_at.size() && pos == done_at[next_done]) {
      d.request_done();
      ++next_done;
    }
  }
  o.error = d.error();
  return o;
}

// Consecutive Stdin events of one request joined into one (views read into data).
std::vector<Event> join_stdin(const std::vector<Event>& events) {
  std::vector<Event> out;
  for (const Event& e : events) {
    if (e.kind == Event::Kind::Stdin && !out.empty() && out.back().kind == Event::Kind::Stdin &&
        out.back().request_id == e.request_id) {
      out.back().data += e.data;
      continue;
    }
    out.push_back(e);
  }
  return out;
}

// run_split() with STDIN views: each chunk is copied into a fresh buffer that is freed once the
// feed's events are consumed (the views copied out), so a view that outlives it is caught by ASan.
template <typename NextChunk>
Outcome run_views(const Config& cfg, std::string_view in, const std::vector<size_t>& done_at,
                  NextChunk next_chunk) {
  ServerDecoder d(cfg.limits, cfg.max_conns, cfg.max_reqs);
  d.set_stdin_views(true);
  Outcome o;
  size_t pos = 0;
  size_t next_done = 0;
  std::vector<Event> events;
  while (pos < in.size()) {
    size_t end = in.size();
    if (next_done < done_at.size()) end = done_at[next_done];
    const size_t n = std::min(std::max<size_t>(next_chunk(), 1), end - pos);
    auto buffer = std::make_unique<char[]>(n);
    std::copy_n(in.data() + pos, n, buffer.get());
    events.clear();
    const bool ok = d.feed(std::string_view(buffer.get(), n), events, o.replies);
    for (Event& e : events) {
      if (e.kind == Event::Kind::Stdin) {
        if (!e.data.empty()) fail("views: Stdin event with data");
        if (e.view.empty() || e.view.data() < buffer.get() ||
            e.view.data() + e.view.size() > buffer.get() + n) {
          fail("views: Stdin view outside the fed bytes");
        }
        e.data.assign(e.view);
        e.view = {};
      }
      o.events.push_back(std::move(e));
    }
    buffer.reset();
    if (!ok) {
      o.ok = false;
      break;
    }
    pos += n;
    if (next_done < done_at.size() && pos == done_at[next_done]) {
      d.request_done();
      ++next_done;
    }
  }
  o.error = d.error();
  o.events = join_stdin(o.events);
  return o;
}

// With views, the content of a STDIN record still incomplete when the input ends has already gone
// out (without, it waits for the record's end): `viewed` may have more body at its very end.
void expect_same_views(const Outcome& copied, const Outcome& viewed) {
  if (copied.ok != viewed.ok) fail("views: feed() results differ");
  if (copied.error != viewed.error) fail("views: error() differs");
  if (copied.replies != viewed.replies) fail("views: replies differ");
  const std::vector<Event>& a = copied.events;
  const std::vector<Event>& b = viewed.events;
  size_t common = a.size();
  if (b.size() == a.size() + 1) {
    if (b.back().kind != Event::Kind::Stdin) fail("views: an extra event that is not Stdin");
  } else if (b.size() != a.size()) {
    fail("views: event counts differ");
  } else if (!a.empty() && a.back().kind == Event::Kind::Stdin) {
    const Event& x = a.back();
    const Event& y = b.back();
    if (y.kind != Event::Kind::Stdin || y.request_id != x.request_id ||
        y.data.compare(0, x.data.size(), x.data) != 0) {
      fail("views: the last Stdin chunk differs");
    }
    common = a.size() - 1;
  }
  for (size_t i = 0; i < common; ++i) {
    if (!same(a[i], b[i])) fail("views: events differ");
  }
}

void expect_same(const Outcome& a, const Outcome& b) {
  if (a.ok != b.ok) fail("split invariance: feed() results differ");
  if (a.error != b.error) fail("split invariance: error() differs");
  if (a.replies != b.replies) fail("split invariance: replies differ");
  if (a.events.size() != b.events.size()) fail("split invariance: event counts differ");
  for (size_t i = 0; i < a.events.size(); ++i) {
    if (!same(a.events[i], b.events[i])) fail("split invariance: events differ");
  }
  if (!a.ok && a.error.empty()) fail("feed() returned false with an empty error()");
  if (a.ok && !a.error.empty()) fail("error() set while feed() succeeded");
}

void check_replies(std::string_view replies) {
  const auto* p = reinterpret_cast<const uint8_t*>(replies.data());
  size_t pos = 0;
  while (pos < replies.size()) {
    if (replies.size() - pos < kHeaderSize) fail("reply: truncated header");
    const Header h = parse_header(p + pos);
    const size_t len = kHeaderSize + h.content_length + h.padding_length;
    if (h.version != kVersion) fail("reply: bad version");
    if (len % 8 != 0) fail("reply: record not padded to a multiple of 8");
    if (replies.size() - pos < len) fail("reply: truncated record");
    std::string_view content = replies.substr(pos + kHeaderSize, h.content_length);
    switch (h.type) {
      case RecordType::EndRequest:
        if (h.request_id == 0 || h.content_length != 8) fail("reply: bad END_REQUEST");
        if (content[4] != static_cast<char>(ProtocolStatus::CantMpxConn) &&
            content[4] != static_cast<char>(ProtocolStatus::UnknownRole)) {
          fail("reply: END_REQUEST with an unexpected protocol status");
        }
        break;
      case RecordType::GetValuesResult: {
        Params values;
        if (h.request_id != 0 || !decode_name_values(content, values)) {
          fail("reply: bad GET_VALUES_RESULT");
        }
        break;
      }
      case RecordType::UnknownType:
        if (h.request_id != 0 || h.content_length != 8) fail("reply: bad UNKNOWN_TYPE");
        break;
      default:
        fail("reply: unexpected record type");
    }
    pos += len;
  }
}

// Re-encodes the first complete request and decodes it again: same params, same body.
void check_round_trip(const Config& cfg, const std::vector<Event>& events) {
  const Event* begin = nullptr;
  const Event* params = nullptr;
  std::string body;
  for (const Event& e : events) {
    if (e.kind == Event::Kind::Begin && begin == nullptr) begin = &e;
    if (begin == nullptr || e.request_id != begin->request_id) continue;
    if (e.kind == Event::Kind::Abort) return;
    if (e.kind == Event::Kind::Params && params == nullptr) params = &e;
    if (e.kind == Event::Kind::Stdin) body += e.data;
    if (e.kind == Event::Kind::StdinEnd) break;
    if (e.kind == Event::Kind::Begin && &e != begin) return;
  }
  if (begin == nullptr || params == nullptr) return;
  std::string wire;
  append_begin_request(wire, begin->request_id, Role::Responder, begin->keep_conn);
  append_params(wire, begin->request_id, params->params);
  append_stream(wire, RecordType::Stdin, begin->request_id, body);
  append_stream_end(wire, RecordType::Stdin, begin->request_id);
  ServerDecoder d(cfg.limits, cfg.max_conns, cfg.max_reqs);
  std::vector<Event> again;
  std::string replies;
  if (!d.feed(wire, again, replies)) fail("round trip: re-encoded request refused");
  if (!replies.empty()) fail("round trip: unexpected replies");
  if (again.size() < 3 || again.front().kind != Event::Kind::Begin ||
      again.front().keep_conn != begin->keep_conn || again[1].kind != Event::Kind::Params ||
      again[1].params != params->params || again.back().kind != Event::Kind::StdinEnd) {
    fail("round trip: events differ");
  }
  std::string body_again;
  for (const Event& e : again) {
    if (e.kind == Event::Kind::Stdin) {
      if (e.data.empty() || e.data.size() > kMaxContent) fail("round trip: bad Stdin chunk");
      body_again += e.data;
    }
  }
  if (body_again != body) fail("round trip: body differs");
}

uint64_t hash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t config = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  Config cfg;
  // Low bits pick the params bound, so the limit path is reachable with small inputs.
  static constexpr size_t kBounds[] = {size_t{1} << 20, 64, 300, 4096};
  cfg.limits.max_params_bytes = kBounds[config & 3];
  cfg.max_conns = 1 + ((config >> 2) & 7);
  cfg.max_reqs = 1 + (config >> 5);

  std::vector<size_t> done_at;
  const Outcome bytewise = run_bytewise(cfg, in, done_at);
  check_replies(bytewise.replies);
  for (const Event& e : bytewise.events) {
    if (e.request_id == 0) fail("event for request id 0");
    if (e.kind == Event::Kind::Stdin && (e.data.empty() || e.data.size() > kMaxContent)) {
      fail("Stdin event with an empty or oversized chunk");
    }
  }

  const Outcome whole = run_split(cfg, in, done_at, [] { return SIZE_MAX; });
  expect_same(bytewise, whole);

  uint64_t state = hash(in) | 1;  // xorshift64, seeded from the input
  const Outcome chunked = run_split(cfg, in, done_at, [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    // Mostly small chunks (to cut headers and name-value lengths), sometimes large ones.
    return (state & 3) == 0 ? static_cast<size_t>((state >> 8) % 70000)
                            : static_cast<size_t>((state >> 8) % 13 + 1);
  });
  expect_same(bytewise, chunked);

  Outcome joined = bytewise;
  joined.events = join_stdin(bytewise.events);
  const Outcome viewed = run_views(cfg, in, done_at, [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (state & 3) == 0 ? static_cast<size_t>((state >> 8) % 70000)
                            : static_cast<size_t>((state >> 8) % 13 + 1);
  });
  expect_same_views(joined, viewed);

  check_round_trip(cfg, bytewise.events);
  return 0;
}
