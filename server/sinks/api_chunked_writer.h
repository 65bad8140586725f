// The one writer of the API's chunked (streamed) responses, GET /v1/events,
// /v1/tail and /v1/verify: a 200 header with `Transfer-Encoding: chunked`,
// then chunks, then the last chunk. Every write is bounded by the write
// timeout, so a reader that stops reading cannot hold the connection.
//
// One write at a time: the caller starts the next from the previous one's
// completion. Strand only; the completions must keep the session (and so
// this writer and its stream) alive.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace trailkeep {

class ChunkedWriter {
 public:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using Done = std::function<void(boost::system::error_code)>;
  using Headers = std::vector<std::pair<std::string, std::string>>;

  ChunkedWriter(Stream& stream, int write_timeout_ms)
      : stream_(stream), write_timeout_ms_(write_timeout_ms) {}

  // The 200 header (Content-Type, Cache-Control: no-store, `extra`) of a
  // chunked body for a request of HTTP `version`.
  void Start(unsigned version, const char* content_type, bool keep_alive, const Headers& extra,
             Done done);
  // `data` (not empty) as one chunk; the writer holds it until `done`.
  void Write(std::string data, Done done);
  // The last chunk: the body ends.
  void Finish(Done done);
  // Forgets the header of the response that ended (or failed).
  void Reset();

 private:
  void ArmTimeout();

  Stream& stream_;
  const int write_timeout_ms_;
  std::string chunk_;  // being written
  std::optional<boost::beast::http::response<boost::beast::http::empty_body>> header_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::empty_body>>
      serializer_;
};

}  // namespace trailkeep
