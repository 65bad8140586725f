#include "server/sinks/api_chunked_writer.h"

#include <chrono>

#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/write.hpp>

namespace trailkeep {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

void ChunkedWriter::ArmTimeout() {
  beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(write_timeout_ms_));
}

void ChunkedWriter::Start(unsigned version, const char* content_type, bool keep_alive,
                          const Headers& extra, Done done) {
  header_.emplace(http::status::ok, version);
  header_->set(http::field::content_type, content_type);
  header_->set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : extra) header_->set(name, value);
  header_->keep_alive(keep_alive);
  header_->chunked(true);
  serializer_.emplace(*header_);
  ArmTimeout();
  http::async_write_header(stream_, *serializer_,
                           [done = std::move(done)](error_code ec, size_t) { done(ec); });
}

void ChunkedWriter::Write(std::string data, Done done) {
  chunk_ = std::move(data);
  ArmTimeout();
  net::async_write(stream_, http::make_chunk(net::buffer(chunk_)),
                   [done = std::move(done)](error_code ec, size_t) { done(ec); });
}

void ChunkedWriter::Finish(Done done) {
  ArmTimeout();
  net::async_write(stream_, http::make_chunk_last(),
                   [done = std::move(done)](error_code ec, size_t) { done(ec); });
}

void ChunkedWriter::Reset() {
  serializer_.reset();
  header_.reset();
}

}  // namespace trailkeep
