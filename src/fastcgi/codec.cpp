// FastCGI 1.0 codec (https://fastcgi-archives.github.io/FastCGI_Specification.html).
#include "fastcgi/codec.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>

namespace php_pool::fastcgi {

namespace {

constexpr size_t kAlign = 8;
// Above this, a buffer kept for the next request on a KEEP_CONN connection is released.
constexpr size_t kKeepCapacity = 64 * 1024;
constexpr char kZeros[kAlign] = {};

constexpr uint8_t padding_for(size_t content_length) {
  return static_cast<uint8_t>((kAlign - content_length % kAlign) % kAlign);
}

// One record: header, content (at most kMaxContent bytes), padding to a multiple of 8.
void append_record(std::string& out, RecordType type, uint16_t request_id,
                   std::string_view content) {
  Header h;
  h.type = type;
  h.request_id = request_id;
  h.content_length = static_cast<uint16_t>(content.size());
  h.padding_length = padding_for(content.size());
  uint8_t header[kHeaderSize];
  encode_header(h, header);
  out.append(reinterpret_cast<const char*>(header), kHeaderSize);
  out.append(content);
  out.append(kZeros, h.padding_length);
}

Event make_event(Event::Kind kind, uint16_t request_id) {
  Event e{};
  e.kind = kind;
  e.request_id = request_id;
  return e;
}

void release_if_large(std::string& s) {
  if (s.capacity() > kKeepCapacity) {
    std::string().swap(s);
  } else {
    s.clear();
  }
}

// Reads one name-value length (1 byte, or 4 bytes with the high bit set) at pos.
bool read_length(std::string_view body, size_t& pos, size_t& length) {
  if (pos >= body.size()) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(body.data()) + pos;
  if ((p[0] & 0x80) == 0) {
    length = p[0];
    pos += 1;
    return true;
  }
  if (body.size() - pos < 4) return false;
  length = (size_t{p[0] & 0x7fu} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
  pos += 4;
  return true;
}

// Size of the name-value pair at the start of s, or 0 if s is too short to hold its lengths.
size_t pair_size(std::string_view s) {
  size_t pos = 0;
  size_t name_len = 0;
  size_t value_len = 0;
  if (!read_length(s, pos, name_len) || !read_length(s, pos, value_len)) return 0;
  return pos + name_len + value_len;
}

// Stores the complete pair that s starts with (pair_size(s) bytes) in slot `used` of out,
// reusing the strings a previous request left there (no allocation when they are big enough).
void take_pair(std::string_view s, Params& out, size_t& used) {
  size_t pos = 0;
  size_t name_len = 0;
  size_t value_len = 0;
  read_length(s, pos, name_len);
  read_length(s, pos, value_len);
  const std::string_view name = s.substr(pos, name_len);
  const std::string_view value = s.substr(pos + name_len, value_len);
  if (used < out.size()) {
    out[used].first.assign(name);
    out[used].second.assign(value);
  } else {
    out.emplace_back(std::string(name), std::string(value));
  }
  ++used;
}

void append_length(std::string& out, size_t length) {
  if (length < 0x80) {
    out.push_back(static_cast<char>(length));
    return;
  }
  const char b[4] = {static_cast<char>(((length >> 24) & 0x7f) | 0x80),
                     static_cast<char>((length >> 16) & 0xff),
                     static_cast<char>((length >> 8) & 0xff), static_cast<char>(length & 0xff)};
  out.append(b, 4);
}

}  // namespace

void encode_header(const Header& h, uint8_t out[kHeaderSize]) {
  out[0] = h.version;
  out[1] = static_cast<uint8_t>(h.type);
  out[2] = static_cast<uint8_t>(h.request_id >> 8);
  out[3] = static_cast<uint8_t>(h.request_id & 0xff);
  out[4] = static_cast<uint8_t>(h.content_length >> 8);
  out[5] = static_cast<uint8_t>(h.content_length & 0xff);
  out[6] = h.padding_length;
  out[7] = 0;
}

Header parse_header(const uint8_t in[kHeaderSize]) {
  Header h;
  h.version = in[0];
  h.type = static_cast<RecordType>(in[1]);
  h.request_id = static_cast<uint16_t>((in[2] << 8) | in[3]);
  h.content_length = static_cast<uint16_t>((in[4] << 8) | in[5]);
  h.padding_length = in[6];
  return h;
}

void append_name_value(std::string& out, std::string_view name, std::string_view value) {
  append_length(out, name.size());
  append_length(out, value.size());
  out.append(name);
  out.append(value);
}

const std::string* find_param(const Params& params, std::string_view name) {
  for (auto p = params.rbegin(); p != params.rend(); ++p)
    if (p->first == name) return &p->second;
  return nullptr;
}

bool decode_name_values(std::string_view body, Params& out) {
  // Validate and count first, so a malformed body appends nothing and `out` grows once.
  size_t count = 0;
  for (size_t pos = 0; pos < body.size(); ++count) {
    size_t name_len = 0;
    size_t value_len = 0;
    if (!read_length(body, pos, name_len) || !read_length(body, pos, value_len)) return false;
    if (name_len > body.size() - pos || value_len > body.size() - pos - name_len) return false;
    pos += name_len + value_len;
  }
  out.reserve(out.size() + count);
  for (size_t pos = 0; pos < body.size();) {
    size_t name_len = 0;
    size_t value_len = 0;
    read_length(body, pos, name_len);
    read_length(body, pos, value_len);
    out.emplace_back(std::string(body.substr(pos, name_len)),
                     std::string(body.substr(pos + name_len, value_len)));
    pos += name_len + value_len;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// ServerDecoder

ServerDecoder::ServerDecoder(Limits limits, unsigned max_conns, unsigned max_reqs)
    : limits_(limits), max_conns_(max_conns), max_reqs_(max_reqs) {}

bool ServerDecoder::fail(std::string message) {
  error_ = std::move(message);
  return false;
}

bool ServerDecoder::feed(std::span<const uint8_t> bytes, std::vector<Event>& events,
                         std::string& replies) {
  if (!error_.empty()) return false;  // the connection is already broken
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  while (n > 0) {
    switch (stage_) {
      case Stage::Header: {
        if (header_have_ == 0 && n >= kHeaderSize) {
          record_ = parse_header(p);
          p += kHeaderSize;
          n -= kHeaderSize;
        } else {
          const size_t take = std::min(kHeaderSize - header_have_, n);
          std::memcpy(header_buf_ + header_have_, p, take);
          header_have_ += take;
          p += take;
          n -= take;
          if (header_have_ < kHeaderSize) return true;
          header_have_ = 0;
          record_ = parse_header(header_buf_);
        }
        if (!start_record()) return false;
        if (content_left_ == 0) {
          if (!finish_record(events, replies)) return false;
          stage_ = padding_left_ > 0 ? Stage::Padding : Stage::Header;
        } else {
          stage_ = Stage::Content;
        }
        break;
      }
      case Stage::Content: {
        const size_t take = std::min(content_left_, n);
        const char* chunk = reinterpret_cast<const char*>(p);
        switch (action_) {
          case Action::GetValues:
          case Action::Begin:
            content_buf_.append(chunk, take);
            break;
          case Action::Params:
            if (!consume_params(std::string_view(chunk, take))) return false;
            break;
          case Action::Stdin:
            if (!stdin_views_) {
              stdin_buf_.append(chunk, take);
            } else if (take > 0) {
              events.push_back(make_event(Event::Kind::Stdin, record_.request_id));
              events.back().view = std::string_view(chunk, take);
            }
            break;
          case Action::Ignore:
          case Action::UnknownType:
          case Action::Abort:
            break;
        }
        p += take;
        n -= take;
        content_left_ -= take;
        if (content_left_ == 0) {
          if (!finish_record(events, replies)) return false;
          stage_ = padding_left_ > 0 ? Stage::Padding : Stage::Header;
        }
        break;
      }
      case Stage::Padding: {
        const size_t take = std::min(padding_left_, n);
        p += take;
        n -= take;
        padding_left_ -= take;
        if (padding_left_ == 0) stage_ = Stage::Header;
        break;
      }
    }
  }
  return true;
}

// Decides from record_'s header what the record is for; checks what the header alone shows.
bool ServerDecoder::start_record() {
  const Header& h = record_;
  if (h.version != kVersion) {
    return fail("unsupported FastCGI protocol version " + std::to_string(h.version) +
                " (expected 1)");
  }
  content_left_ = h.content_length;
  padding_left_ = h.padding_length;
  action_ = Action::Ignore;
  const uint16_t id = h.request_id;

  if (id == 0) {  // management record
    if (h.type == RecordType::GetValues) {
      content_buf_.clear();
      action_ = Action::GetValues;
    } else {
      action_ = Action::UnknownType;
    }
    return true;
  }
  if (h.type == RecordType::BeginRequest) {
    if (h.content_length != 8) {
      return fail("FastCGI BEGIN_REQUEST for request " + std::to_string(id) + " has a " +
                  std::to_string(h.content_length) + "-byte body (expected 8)");
    }
    content_buf_.clear();
    action_ = Action::Begin;
    return true;
  }
  // Records of requests that are not in progress are ignored, as the spec says.
  if (id != current_id_ || req_state_ == ReqState::Aborted) return true;

  switch (h.type) {
    case RecordType::AbortRequest:
      action_ = Action::Abort;
      return true;
    case RecordType::Params:
      if (req_state_ != ReqState::Params) {
        return fail("FastCGI PARAMS record for request " + std::to_string(id) +
                    " after the end of its PARAMS stream");
      }
      if (params_bytes_ + h.content_length > limits_.max_params_bytes) {
        return fail("FastCGI PARAMS of request " + std::to_string(id) + " exceed the limit of " +
                    std::to_string(limits_.max_params_bytes) + " bytes");
      }
      params_bytes_ += h.content_length;
      action_ = Action::Params;
      return true;
    case RecordType::Stdin:
      if (req_state_ == ReqState::Params) {
        return fail("FastCGI STDIN record for request " + std::to_string(id) +
                    " before the end of its PARAMS stream");
      }
      if (req_state_ == ReqState::StdinDone) {
        return fail("FastCGI STDIN record for request " + std::to_string(id) +
                    " after the end of its STDIN stream");
      }
      stdin_buf_.clear();
      if (!stdin_views_) stdin_buf_.reserve(h.content_length);
      action_ = Action::Stdin;
      return true;
    case RecordType::Data:  // the FILTER role's stream: a RESPONDER has no use for it
      return true;
    default:
      return fail("unexpected FastCGI record type " +
                  std::to_string(static_cast<unsigned>(h.type)) + " for request " +
                  std::to_string(id));
  }
}

// record_'s content is complete: carry out what start_record() decided.
bool ServerDecoder::finish_record(std::vector<Event>& events, std::string& replies) {
  const uint16_t id = record_.request_id;
  switch (action_) {
    case Action::Ignore:
      return true;
    case Action::UnknownType: {
      char body[8] = {static_cast<char>(record_.type)};
      append_record(replies, RecordType::UnknownType, 0, std::string_view(body, sizeof body));
      return true;
    }
    case Action::GetValues:
      return finish_get_values(replies);
    case Action::Begin:
      return finish_begin(events, replies);
    case Action::Abort:
      req_state_ = ReqState::Aborted;
      events.push_back(make_event(Event::Kind::Abort, id));
      return true;
    case Action::Params:
      if (record_.content_length > 0) return true;
      if (!params_carry_.empty()) {
        return fail("malformed name-value pairs in the FastCGI PARAMS of request " +
                    std::to_string(id) + " (the stream ends inside a pair)");
      }
      req_state_ = ReqState::Stdin;
      events.push_back(make_event(Event::Kind::Params, id));
      params_.resize(params_used_);  // slots left over from a longer earlier request
      events.back().params.swap(params_);
      reset_params();
      return true;
    case Action::Stdin:
      if (record_.content_length == 0) {
        req_state_ = ReqState::StdinDone;
        events.push_back(make_event(Event::Kind::StdinEnd, id));
      } else if (!stdin_views_) {  // with views, the content went out as it came
        events.push_back(make_event(Event::Kind::Stdin, id));
        events.back().data = std::move(stdin_buf_);
        stdin_buf_ = std::string();
      }
      return true;
  }
  return true;
}

bool ServerDecoder::finish_begin(std::vector<Event>& events, std::string& replies) {
  const uint16_t id = record_.request_id;
  const auto* body = reinterpret_cast<const uint8_t*>(content_buf_.data());
  const auto role = static_cast<Role>((body[0] << 8) | body[1]);
  const bool keep_conn = (body[2] & kFlagKeepConn) != 0;
  if (current_id_ != 0) {
    if (id == current_id_) {
      return fail("FastCGI BEGIN_REQUEST for request " + std::to_string(id) +
                  ", which is still in progress");
    }
    append_end_request(replies, id, 0, ProtocolStatus::CantMpxConn);
    return true;
  }
  if (role != Role::Responder) {
    append_end_request(replies, id, 0, ProtocolStatus::UnknownRole);
    // Reported too: without FCGI_KEEP_CONN the peer expects the connection to close now.
    events.push_back(make_event(Event::Kind::Refused, id));
    events.back().keep_conn = keep_conn;
    return true;
  }
  current_id_ = id;
  req_state_ = ReqState::Params;
  begin_params();
  events.push_back(make_event(Event::Kind::Begin, id));
  events.back().keep_conn = keep_conn;
  return true;
}

bool ServerDecoder::finish_get_values(std::string& replies) {
  Params asked;
  if (!decode_name_values(content_buf_, asked)) {
    return fail("malformed name-value pairs in a FastCGI GET_VALUES record");
  }
  const std::pair<std::string_view, std::string> known[] = {
      {"FCGI_MAX_CONNS", std::to_string(max_conns_)},
      {"FCGI_MAX_REQS", std::to_string(max_reqs_)},
      {"FCGI_MPXS_CONNS", "0"},
  };
  bool answered[std::size(known)] = {};
  std::string body;
  for (const auto& [name, value] : asked) {
    for (size_t i = 0; i < std::size(known); ++i) {
      if (!answered[i] && name == known[i].first) {
        answered[i] = true;
        append_name_value(body, known[i].first, known[i].second);
      }
    }
  }
  append_record(replies, RecordType::GetValuesResult, 0, body);
  return true;
}

// PARAMS content, split anywhere. Pairs wholly inside `chunk` are copied from it directly; a pair
// cut by a record or feed boundary is gathered in params_carry_ first.
bool ServerDecoder::pair_too_large(size_t size) {
  if (size <= limits_.max_params_bytes) return false;
  fail("a name-value pair of " + std::to_string(size) + " bytes in the FastCGI PARAMS of request " +
       std::to_string(record_.request_id) + " exceeds the limit of " +
       std::to_string(limits_.max_params_bytes) + " bytes");
  return true;
}

bool ServerDecoder::consume_params(std::string_view chunk) {
  while (!chunk.empty()) {
    if (params_carry_.empty()) {
      size_t size;
      while ((size = pair_size(chunk)) != 0 && size <= chunk.size()) {
        take_pair(chunk, params_, params_used_);
        chunk.remove_prefix(size);
      }
      if (!chunk.empty()) {
        // A claimed size beyond the bound could never complete: fail now rather than wait for
        // bytes the bound would refuse anyway.
        if (pair_too_large(size)) return false;
        if (size != 0) params_carry_.reserve(size);
        params_carry_.append(chunk);
      }
      return true;
    }
    size_t size = pair_size(params_carry_);
    if (size == 0) {
      // The lengths are cut: add bytes until they are known (both fit in 8 bytes). This may take
      // bytes beyond a short pair; those are given back below.
      const size_t take = std::min(chunk.size(), 2 * 4 - params_carry_.size());
      params_carry_.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      size = pair_size(params_carry_);
      if (size == 0) return true;  // chunk is used up
      if (pair_too_large(size)) return false;
      if (params_carry_.size() > size) {
        const size_t extra = params_carry_.size() - size;
        chunk = std::string_view(chunk.data() - extra, chunk.size() + extra);
        params_carry_.resize(size);
      } else {
        params_carry_.reserve(size);
      }
    }
    const size_t take = std::min(chunk.size(), size - params_carry_.size());
    params_carry_.append(chunk.substr(0, take));
    chunk.remove_prefix(take);
    if (params_carry_.size() < size) return true;
    take_pair(params_carry_, params_, params_used_);
    release_if_large(params_carry_);
  }
  return true;
}

void ServerDecoder::set_first_param(std::string name, std::string value) {
  first_param_.emplace(std::move(name), std::move(value));
}

void ServerDecoder::reset_params() {
  params_used_ = 0;  // the strings stay, to be overwritten by the next request's pairs
  release_if_large(params_carry_);
  params_bytes_ = 0;
}

void ServerDecoder::begin_params() {
  reset_params();
  if (first_param_) {
    if (params_.empty()) params_.emplace_back();
    params_[0].first.assign(first_param_->first);
    params_[0].second.assign(first_param_->second);
    params_used_ = 1;
  }
}

void ServerDecoder::recycle_params(Params&& used) {
  // Only between two PARAMS streams, and only when it is worth more than what is there.
  if (params_used_ != 0 || used.capacity() <= params_.capacity()) return;
  for (auto& [name, value] : used) {
    release_if_large(name);
    release_if_large(value);
  }
  params_ = std::move(used);
}

void ServerDecoder::reset() {
  error_.clear();
  current_id_ = 0;
  stage_ = Stage::Header;
  action_ = Action::Ignore;
  req_state_ = ReqState::Params;
  header_have_ = 0;
  record_ = Header();
  content_left_ = 0;
  padding_left_ = 0;
  release_if_large(content_buf_);
  release_if_large(stdin_buf_);
  reset_params();
  release_if_large(params_carry_);
  params_bytes_ = 0;
}

void ServerDecoder::request_done() {
  current_id_ = 0;
  req_state_ = ReqState::Params;
  reset_params();
  // A record of the finished request may be half read: skip the rest of it.
  if (stage_ == Stage::Content &&
      (action_ == Action::Params || action_ == Action::Stdin || action_ == Action::Abort)) {
    action_ = Action::Ignore;
    stdin_buf_ = std::string();
  }
}

// ---------------------------------------------------------------------------------------------
// Encoders

void append_stream(std::string& out, RecordType type, uint16_t request_id, std::string_view data) {
  if (data.empty()) return;
  const size_t records = (data.size() + kMaxContent - 1) / kMaxContent;
  out.reserve(out.size() + data.size() + records * (kHeaderSize + kAlign - 1));
  while (!data.empty()) {
    const size_t len = std::min(data.size(), kMaxContent);
    append_record(out, type, request_id, data.substr(0, len));
    data.remove_prefix(len);
  }
}

void append_stream_end(std::string& out, RecordType type, uint16_t request_id) {
  append_record(out, type, request_id, {});
}

void append_end_request(std::string& out, uint16_t request_id, uint32_t app_status,
                        ProtocolStatus status) {
  const char body[8] = {static_cast<char>((app_status >> 24) & 0xff),
                        static_cast<char>((app_status >> 16) & 0xff),
                        static_cast<char>((app_status >> 8) & 0xff),
                        static_cast<char>(app_status & 0xff),
                        static_cast<char>(status),
                        0,
                        0,
                        0};
  append_record(out, RecordType::EndRequest, request_id, std::string_view(body, sizeof body));
}

void append_begin_request(std::string& out, uint16_t request_id, Role role, bool keep_conn) {
  const auto r = static_cast<uint16_t>(role);
  const char body[8] = {static_cast<char>(r >> 8),
                        static_cast<char>(r & 0xff),
                        static_cast<char>(keep_conn ? kFlagKeepConn : 0),
                        0,
                        0,
                        0,
                        0,
                        0};
  append_record(out, RecordType::BeginRequest, request_id, std::string_view(body, sizeof body));
}

void append_params(std::string& out, uint16_t request_id, const Params& params) {
  std::string body;
  size_t size = 0;
  for (const auto& [name, value] : params) size += 8 + name.size() + value.size();
  body.reserve(size);
  for (const auto& [name, value] : params) append_name_value(body, name, value);
  append_stream(out, RecordType::Params, request_id, body);
  append_stream_end(out, RecordType::Params, request_id);
}

}  // namespace php_pool::fastcgi
