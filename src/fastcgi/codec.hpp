// FastCGI 1.0 codec: pure, bytes in, records out. No sockets, no PHP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace php_pool::fastcgi {

inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderSize = 8;
inline constexpr size_t kMaxContent = 65535;

enum class RecordType : uint8_t {
  BeginRequest = 1,
  AbortRequest = 2,
  EndRequest = 3,
  Params = 4,
  Stdin = 5,
  Stdout = 6,
  Stderr = 7,
  Data = 8,
  GetValues = 9,
  GetValuesResult = 10,
  UnknownType = 11,
};

enum class Role : uint16_t { Responder = 1, Authorizer = 2, Filter = 3 };

enum class ProtocolStatus : uint8_t {
  RequestComplete = 0,
  CantMpxConn = 1,
  Overloaded = 2,
  UnknownRole = 3,
};

inline constexpr uint8_t kFlagKeepConn = 1;

struct Header {
  uint8_t version = kVersion;
  RecordType type = RecordType::UnknownType;
  uint16_t request_id = 0;
  uint16_t content_length = 0;
  uint8_t padding_length = 0;
};

// Header encode/parse on exactly 8 bytes.
void encode_header(const Header& h, uint8_t out[kHeaderSize]);
Header parse_header(const uint8_t in[kHeaderSize]);

using Param = std::pair<std::string, std::string>;
using Params = std::vector<Param>;

// The value of NAME, or nullptr. A name sent twice (nginx sends a fastcgi_param repeated after
// an include) counts with its last value, as in php-fpm, whose table of params keeps the last.
const std::string* find_param(const Params& params, std::string_view name);

// Name-value pair encoding (1- or 4-byte lengths), appended to out.
void append_name_value(std::string& out, std::string_view name, std::string_view value);
// Decodes a complete PARAMS stream body, appending the pairs to out. Returns false on a
// malformed body (then out is unchanged).
bool decode_name_values(std::string_view body, Params& out);

// What the server-side decoder reports, in stream order.
struct Event {
  enum class Kind {
    Begin,     // BEGIN_REQUEST with role RESPONDER: request_id, keep_conn set
    Params,    // the PARAMS stream ended: params holds every pair
    Stdin,     // a non-empty STDIN chunk: data
    StdinEnd,  // the empty STDIN record
    Abort,     // ABORT_REQUEST for the current request
    Refused,   // BEGIN_REQUEST of another role, answered UNKNOWN_ROLE: request_id, keep_conn set
  };
  Kind kind;
  uint16_t request_id = 0;
  bool keep_conn = false;
  Params params;
  std::string data;
  // Stdin with ServerDecoder::set_stdin_views(true): the chunk, pointing into the bytes given to
  // feed() (data stays empty). Valid as long as those bytes are.
  std::string_view view;
};

struct Limits {
  size_t max_params_bytes = 1 << 20;  // total PARAMS stream size per request
};

// Server side of one connection. Feed it bytes as they arrive (split anywhere); it returns
// events and writes the replies it owes the peer by itself (GET_VALUES_RESULT, UNKNOWN_TYPE,
// END_REQUEST with UNKNOWN_ROLE or CANT_MPX_CONN) into `replies`.
class ServerDecoder {
 public:
  explicit ServerDecoder(Limits limits = {}, unsigned max_conns = 1, unsigned max_reqs = 1);

  // Returns false on a protocol violation; error() says what. The connection must be closed
  // (further feeds keep returning false). Events and replies are appended, never cleared; the
  // events of records before a violation are still appended.
  bool feed(std::span<const uint8_t> bytes, std::vector<Event>& events, std::string& replies);
  bool feed(std::string_view bytes, std::vector<Event>& events, std::string& replies) {
    return feed(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
        events, replies);
  }
  const std::string& error() const { return error_; }

  // The application finished the current request (END_REQUEST sent); a new BEGIN may follow.
  // Call it before feeding what arrives after the END_REQUEST: until then a BEGIN_REQUEST for
  // the same id is a protocol error and one for another id is refused (CANT_MPX_CONN). Late
  // records of the finished request (a half-read one included) are ignored.
  void request_done();
  // Id of the request in progress, 0 if none.
  uint16_t current_request() const { return current_id_; }
  // Between two records: every byte fed so far belongs to a complete record, so a new decoder
  // (another worker's) can take the stream from the next byte on.
  bool at_record_boundary() const { return stage_ == Stage::Header && header_have_ == 0; }

  // Gives back the Params of an earlier event once the caller is done with them: the next
  // request's pairs are decoded into these strings, so a worker that serves request after
  // request stops allocating for its CGI variables. Optional.
  void recycle_params(Params&& used);
  // Back to the state of a new decoder (for the next connection), keeping the buffers.
  void reset();
  // A pair every Params event starts with, before the peer's (php-fpm's FCGI_ROLE). None by
  // default.
  void set_first_param(std::string name, std::string value);
  // STDIN content is not copied: each piece of a record that a feed() holds becomes a Stdin
  // event whose `view` points into the fed bytes (a record may come as several events). For a
  // caller that consumes the events before it reuses its input buffer. Off by default.
  void set_stdin_views(bool on) { stdin_views_ = on; }

 private:
  // Where the decoder is inside the record stream.
  enum class Stage : uint8_t { Header, Content, Padding };
  // What the record being read is for; decided from its header, carried out when its content
  // is complete. It also says where the content bytes go.
  enum class Action : uint8_t {
    Ignore,       // content skipped
    UnknownType,  // management record of a type we do not know: content skipped
    Abort,        // ABORT_REQUEST for the current request: content skipped
    GetValues,    // content buffered in content_buf_
    Begin,        // content buffered in content_buf_
    Params,       // content decoded into params_ as pairs complete
    Stdin,        // content appended to stdin_buf_, handed over as one Stdin event
  };
  // Where the current request is in its input streams.
  enum class ReqState : uint8_t { Params, Stdin, StdinDone, Aborted };

  bool fail(std::string message);
  bool start_record();
  bool finish_record(std::vector<Event>& events, std::string& replies);
  bool finish_begin(std::vector<Event>& events, std::string& replies);
  bool finish_get_values(std::string& replies);
  bool consume_params(std::string_view chunk);  // false: failed (a pair beyond the bound)
  bool pair_too_large(size_t size);
  void reset_params();
  void begin_params();  // a request began: its PARAMS start (with first_param_)

  Limits limits_;
  unsigned max_conns_;
  unsigned max_reqs_;
  std::string error_;
  uint16_t current_id_ = 0;

  Stage stage_ = Stage::Header;
  Action action_ = Action::Ignore;
  ReqState req_state_ = ReqState::Params;
  uint8_t header_buf_[kHeaderSize] = {};
  size_t header_have_ = 0;
  Header record_;            // header of the record being read
  size_t content_left_ = 0;  // content bytes of record_ still to come
  size_t padding_left_ = 0;  // padding bytes of record_ still to come
  std::string content_buf_;  // Action::GetValues, Action::Begin
  std::string stdin_buf_;    // Action::Stdin: becomes the event's data
  // The PARAMS stream of the current request so far: complete pairs (the first params_used_
  // slots of params_; the slots after them keep an earlier request's strings for reuse), the
  // bytes of a pair still incomplete at the end of what was fed, and the stream's size (for
  // limits_).
  Params params_;
  size_t params_used_ = 0;
  std::optional<Param> first_param_;
  bool stdin_views_ = false;
  std::string params_carry_;
  size_t params_bytes_ = 0;
};

// Encoders for the response direction. Stream data is split into records of at most
// 65535 content bytes, each padded to a multiple of 8.
void append_stream(std::string& out, RecordType type, uint16_t request_id, std::string_view data);
void append_stream_end(std::string& out, RecordType type, uint16_t request_id);
void append_end_request(std::string& out, uint16_t request_id, uint32_t app_status,
                        ProtocolStatus status);
// Client-side helpers (tests, benchmarks, the status client): BEGIN_REQUEST and PARAMS.
void append_begin_request(std::string& out, uint16_t request_id, Role role, bool keep_conn);
void append_params(std::string& out, uint16_t request_id, const Params& params);

}  // namespace php_pool::fastcgi
