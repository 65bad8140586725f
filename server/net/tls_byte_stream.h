// TlsByteStream: the server side of a TLS session over another ByteStream
// (a TCP socket, or an SSH channel after an agent's port-60 hello). After
// AsyncHandshake succeeds, native_handle() holds the verified certificate and
// the ALPN choice the channel's identity is taken from (tls_context.h).
// Internal to server/net: names Asio and OpenSSL.
//
// Memory: a quiet connection holds no record-sized buffer. OpenSSL reads the
// inner stream through a BIO of this class, which reads what has arrived
// into a buffer freed once OpenSSL took it all and the peer is quiet;
// OpenSSL's own record buffer is freed between records
// (SSL_MODE_RELEASE_BUFFERS). While the peer is quiet the only read pending
// on the inner stream is one into a kWaitBytes array, the bytes of which
// OpenSSL is handed first. Ciphertext
// OpenSSL writes is kept until the inner stream has taken it, then freed.
// AsyncWaitReadable lets a reader hold no buffer of its own either (it reads
// with ReadSomeNow once woken). boost::asio::ssl::stream, which this
// replaces, holds four 17 KiB buffers per connection for its whole life.
//
// Concurrency: every method on executor() (the inner stream's strand), the
// first one too: a completion may run on another thread as soon as an
// operation is started. One
// read (AsyncReadSome, AsyncWaitReadable, AsyncHandshake, AsyncShutdown) and
// one write may be pending at a time, as ByteStream says; ReadSomeNow may run
// beside a pending write. The owner keeps the stream alive while an operation
// is pending (its handlers hold the owner).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include "server/net/byte_stream.h"

namespace trailkeep {

class TlsByteStream final : public ByteStream {
 public:
  using Done = std::function<void(const boost::system::error_code&)>;
  // Bytes the read that waits for a quiet peer takes at most.
  static constexpr size_t kWaitBytes = 64;

  TlsByteStream(std::unique_ptr<ByteStream> inner, std::shared_ptr<boost::asio::ssl::context> ctx);
  ~TlsByteStream() override;
  TlsByteStream(const TlsByteStream&) = delete;
  TlsByteStream& operator=(const TlsByteStream&) = delete;

  // Keeps the first certificate verification failure (verify_error()).
  void AsyncHandshake(Done handler);
  // A close_notify exchange; the caller bounds it in time and closes.
  void AsyncShutdown(Done handler);
  // Completes when ReadSomeNow may return bytes, EOF or an error (it may
  // still say would_block: a record can arrive in pieces).
  void AsyncWaitReadable(Done handler);
  SSL* native_handle() { return ssl_; }
  // The verifier's reason for the first certificate it refused, "" if none.
  const std::string& verify_error() const { return verify_error_; }

  boost::asio::any_io_executor executor() override;
  void AsyncReadSome(boost::asio::mutable_buffer buffer, Handler handler) override;
  void AsyncWrite(boost::asio::const_buffer buffer, Handler handler) override;
  size_t ReadSomeNow(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) override;
  size_t WriteSomeNow(boost::asio::const_buffer buffer, boost::system::error_code& ec) override;
  void Close() override;

 private:
  enum class Outcome { kDone, kWantInput, kFailed };
  // One OpenSSL call (SSL_read_ex, ...): its return value, *n the bytes moved.
  using Call = std::function<int(size_t* n)>;

  friend struct TlsByteStreamBio;
  int BioRead(char* out, int len);
  int BioWrite(const char* data, int len);
  static int VerifyPeer(int preverified, X509_STORE_CTX* store);

  Outcome Perform(const Call& call, size_t* n, boost::system::error_code* ec);
  boost::system::error_code MapError(int ssl_error);
  // Performs `call` until it is done or fails, waiting for input when it
  // wants some; flushes what it wrote, then posts `done`.
  void Run(Call call, Handler done);
  // Runs `then` once the pending input read has completed (starting it).
  void WaitInput(std::function<void()> then);
  // Runs `then` once every byte written so far has been taken by inner_.
  void Flush(Done then);
  // Returns the waiters of the flush it started or continued.
  std::shared_ptr<std::vector<Done>> StartFlush();
  bool ReadReady() const;

  std::unique_ptr<ByteStream> inner_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  SSL* ssl_ = nullptr;
  std::string verify_error_;
  // Outlives no pending inner handler: they hold a weak_ptr to it.
  std::shared_ptr<char> alive_ = std::make_shared<char>();

  // Input: the waiting read's bytes not yet handed to OpenSSL.
  std::array<char, kWaitBytes> wait_buf_{};
  // Ciphertext read from inner_ after a wake-up, not yet taken by OpenSSL.
  static constexpr size_t kInBytes = 16 * 1024 + 512;
  std::string in_;
  size_t in_begin_ = 0;
  size_t wait_begin_ = 0;
  size_t wait_end_ = 0;
  bool waiting_ = false;  // the waiting read is pending
  bool starved_ = false;  // the last ReadSomeNow needed more than had come
  std::weak_ptr<std::vector<std::function<void()>>> input_waiters_;  // while a wait is on
  bool input_eof_ = false;
  boost::system::error_code input_error_;

  // Output: ciphertext not yet handed to inner_, and what inner_ is writing.
  std::string out_;
  std::string wire_;
  bool flushing_ = false;
  std::weak_ptr<std::vector<Done>> flush_waiters_;  // while flushing_
  boost::system::error_code output_error_;
};

}  // namespace trailkeep
