#include "server/net/tls_byte_stream.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/x509/subject_name.h"

namespace trailkeep {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

namespace {

bool WouldBlock(const error_code& ec) {
  return ec == net::error::would_block || ec == net::error::try_again;
}

}  // namespace

// The BIO OpenSSL reads and writes through: its data pointer is the stream.
struct TlsByteStreamBio {
  static TlsByteStream* Of(BIO* bio) { return static_cast<TlsByteStream*>(BIO_get_data(bio)); }

  static int Read(BIO* bio, char* out, int len) {
    BIO_clear_retry_flags(bio);
    const int n = Of(bio)->BioRead(out, len);
    if (n < 0 && !Of(bio)->input_error_ && !Of(bio)->input_eof_) BIO_set_retry_read(bio);
    return n;
  }
  static int Write(BIO* bio, const char* data, int len) {
    BIO_clear_retry_flags(bio);
    return Of(bio)->BioWrite(data, len);
  }
  static long Ctrl(BIO*, int cmd, long, void*) {
    // OpenSSL flushes after each handshake flight; the stream sends what
    // was written once the SSL call returns.
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
  }
  static int Create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  // Built once, never freed: OpenSSL keeps a pointer to it in every BIO.
  static const BIO_METHOD* Method() {
    static const BIO_METHOD* method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "trailkeep stream");
      BIO_meth_set_read(m, &Read);
      BIO_meth_set_write(m, &Write);
      BIO_meth_set_ctrl(m, &Ctrl);
      BIO_meth_set_create(m, &Create);
      return m;
    }();
    return method;
  }
};

TlsByteStream::TlsByteStream(std::unique_ptr<ByteStream> inner, std::shared_ptr<ssl::context> ctx)
    : inner_(std::move(inner)), ctx_(std::move(ctx)), ssl_(SSL_new(ctx_->native_handle())) {
  if (ssl_ == nullptr) throw std::bad_alloc();
  BIO* bio = BIO_new(TlsByteStreamBio::Method());
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one reference, owned by ssl_
  SSL_set_app_data(ssl_, this);
  SSL_set_verify(ssl_, SSL_get_verify_mode(ssl_), &TlsByteStream::VerifyPeer);
  // No read-ahead: with it OpenSSL 3.0 moves what it buffered to the front
  // of its record buffer before each record of 128 bytes or more (payload
  // alignment), up to 16 KiB copied per small record. in_ batches instead.
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_accept_state(ssl_);
}

TlsByteStream::~TlsByteStream() { SSL_free(ssl_); }

int TlsByteStream::VerifyPeer(int preverified, X509_STORE_CTX* store) {
  auto* s =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = static_cast<TlsByteStream*>(SSL_get_app_data(s));
  if (!preverified && self->verify_error_.empty()) {
    self->verify_error_ = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
    if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
      self->verify_error_ += " (certificate " + SubjectRfc2253(X509_get_subject_name(cert)) + ")";
    }
  }
  return preverified;
}

// OpenSSL reads a record's header, then its body: both come from in_, which
// one read of the inner stream fills with as many records as have arrived.
// The waiting read's bytes come first. in_ is freed once OpenSSL has taken
// it all and the inner stream has nothing more (the connection is quiet).
int TlsByteStream::BioRead(char* out, int len) {
  if (waiting_ || len <= 0) return -1;
  const auto want = static_cast<size_t>(len);
  if (in_begin_ == in_.size() && wait_begin_ == wait_end_ && !input_eof_ && !input_error_) {
    in_.resize(kInBytes);
    error_code ec;
    const size_t n = inner_->ReadSomeNow(net::buffer(in_.data(), in_.size()), ec);
    in_.resize(n);
    in_begin_ = 0;
    if (ec == net::error::eof) {
      input_eof_ = true;
    } else if (ec && !WouldBlock(ec)) {
      input_error_ = ec;
    }
    if (n == 0) std::string().swap(in_);
  }
  size_t got = std::min(wait_end_ - wait_begin_, want);
  std::memcpy(out, wait_buf_.data() + wait_begin_, got);
  wait_begin_ += got;
  const size_t more = std::min(in_.size() - in_begin_, want - got);
  std::memcpy(out + got, in_.data() + in_begin_, more);
  in_begin_ += more;
  got += more;
  if (got > 0) return static_cast<int>(got);
  return input_eof_ ? 0 : -1;
}

int TlsByteStream::BioWrite(const char* data, int len) {
  if (output_error_) return -1;
  out_.append(data, static_cast<size_t>(len));
  return len;
}

TlsByteStream::Outcome TlsByteStream::Perform(const Call& call, size_t* n, error_code* ec) {
  ERR_clear_error();
  const int r = call(n);
  const int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_NONE) return Outcome::kDone;
  if (e == SSL_ERROR_WANT_READ) return Outcome::kWantInput;
  *ec = MapError(e);
  return Outcome::kFailed;
}

// As boost::asio::ssl::stream reports them: a close_notify is eof, the
// transport's end without one is stream_truncated, a transport error is
// itself, OpenSSL's first queued error otherwise.
error_code TlsByteStream::MapError(int ssl_error) {
  const unsigned long queued = ERR_get_error();
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return net::error::eof;
  if (input_error_) return input_error_;
  if (output_error_) return output_error_;
  if (input_eof_) {
    return (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0 ? error_code(net::error::eof)
                                                                 : ssl::error::stream_truncated;
  }
  if ((ssl_error == SSL_ERROR_SSL || ssl_error == SSL_ERROR_SYSCALL) && queued != 0) {
    return error_code(static_cast<int>(queued), net::error::get_ssl_category());
  }
  return ssl_error == SSL_ERROR_SYSCALL ? ssl::error::unspecified_system_error
                                        : ssl::error::unexpected_result;
}

void TlsByteStream::Run(Call call, Handler done) {
  size_t n = 0;
  error_code ec;
  if (Perform(call, &n, &ec) == Outcome::kWantInput) {
    // Whatever it wrote first (a handshake flight) goes out while it waits.
    if (!out_.empty() && !flushing_) StartFlush();
    return WaitInput([this, call = std::move(call), done = std::move(done)]() mutable {
      Run(std::move(call), std::move(done));
    });
  }
  // An alert about a failure is sent too, before the failure is reported.
  Flush([this, done = std::move(done), ec, n](const error_code& wec) {
    net::post(executor(), [done, ec = ec ? ec : wec, n] { done(ec, n); });
  });
}

// Records OpenSSL holds count only while the last ReadSomeNow did not find
// them incomplete; then the peer must send more first.
bool TlsByteStream::ReadReady() const {
  return wait_begin_ < wait_end_ || in_begin_ < in_.size() || input_eof_ || input_error_ ||
         (!starved_ && SSL_has_pending(ssl_) == 1);
}

// The waiters live in the pending inner operation's handler, not in the
// stream: an I/O context destroyed with the operation pending frees them, and
// with them the owner they hold.
void TlsByteStream::WaitInput(std::function<void()> then) {
  if (auto joined = input_waiters_.lock()) return joined->push_back(std::move(then));
  auto waiters = std::make_shared<std::vector<std::function<void()>>>();
  waiters->push_back(std::move(then));
  input_waiters_ = waiters;
  auto run = [this, waiters] {
    input_waiters_.reset();
    for (auto& w : *waiters) w();  // may end the owner, and this stream: touch nothing after
  };
  if (wait_begin_ < wait_end_ || in_begin_ < in_.size() || input_eof_ || input_error_) {
    // Input is already there: run the waiters from the executor, not from here.
    return net::post(executor(), [alive = std::weak_ptr<char>(alive_), run] {
      if (!alive.expired()) run();
    });
  }
  waiting_ = true;
  wait_begin_ = wait_end_ = 0;
  inner_->AsyncReadSome(net::buffer(wait_buf_), [this, alive = std::weak_ptr<char>(alive_), run](
                                                    const error_code& ec, size_t n) {
    if (alive.expired()) return;
    waiting_ = false;
    wait_end_ = n;
    if (ec == net::error::eof) {
      input_eof_ = true;
    } else if (ec) {
      input_error_ = ec;
    }
    run();
  });
}

void TlsByteStream::Flush(Done then) {
  if (output_error_) return then(output_error_);
  if (out_.empty() && !flushing_) return then({});
  auto waiters = flushing_ ? flush_waiters_.lock() : StartFlush();
  if (!waiters) return then(net::error::operation_aborted);  // the context is going away
  waiters->push_back(std::move(then));
}

// Writes out_, and what is added to it meanwhile, then runs the waiters
// (held like WaitInput's).
std::shared_ptr<std::vector<TlsByteStream::Done>> TlsByteStream::StartFlush() {
  auto waiters = flush_waiters_.lock();
  if (!waiters) {
    waiters = std::make_shared<std::vector<Done>>();
    flush_waiters_ = waiters;
  }
  flushing_ = true;
  wire_.swap(out_);
  inner_->AsyncWrite(net::buffer(wire_), [this, alive = std::weak_ptr<char>(alive_), waiters](
                                             const error_code& ec, size_t) {
    if (alive.expired()) return;
    std::string().swap(wire_);  // an idle connection keeps no written record
    if (ec) output_error_ = ec;
    if (!ec && !out_.empty()) {
      StartFlush();
      return;
    }
    flushing_ = false;
    flush_waiters_.reset();
    for (auto& w : *waiters) w(ec);  // may end the owner, and this stream: touch nothing after
  });
  return waiters;
}

void TlsByteStream::AsyncHandshake(Done handler) {
  Run([this](size_t*) { return SSL_do_handshake(ssl_); },
      [h = std::move(handler)](const error_code& ec, size_t) { h(ec); });
}

void TlsByteStream::AsyncShutdown(Done handler) {
  Run(
      [this](size_t*) {
        // 0: our close_notify is written; the second call waits for the peer's.
        const int r = SSL_shutdown(ssl_);
        return r == 0 ? SSL_shutdown(ssl_) : r;
      },
      [h = std::move(handler)](const error_code& ec, size_t) { h(ec); });
}

void TlsByteStream::AsyncWaitReadable(Done handler) {
  if (ReadReady()) {
    return net::post(executor(), [h = std::move(handler)] { h({}); });
  }
  // Run by the input read's handler, already off the caller's stack.
  WaitInput([h = std::move(handler)] { h({}); });
}

net::any_io_executor TlsByteStream::executor() { return inner_->executor(); }

void TlsByteStream::AsyncReadSome(net::mutable_buffer buffer, Handler handler) {
  if (buffer.size() == 0) {
    return net::post(executor(), [h = std::move(handler)] { h({}, 0); });
  }
  Run([this, buffer](size_t* n) { return SSL_read_ex(ssl_, buffer.data(), buffer.size(), n); },
      std::move(handler));
}

void TlsByteStream::AsyncWrite(net::const_buffer buffer, Handler handler) {
  if (buffer.size() == 0) {
    return net::post(executor(), [h = std::move(handler)] { h({}, 0); });
  }
  // The BIO takes every byte, so one call writes the whole buffer.
  Run([this, buffer](size_t* n) { return SSL_write_ex(ssl_, buffer.data(), buffer.size(), n); },
      std::move(handler));
}

size_t TlsByteStream::ReadSomeNow(net::mutable_buffer buffer, error_code& ec) {
  ec = {};
  if (buffer.size() == 0) return 0;
  size_t n = 0;
  const Outcome o = Perform(
      [this, buffer](size_t* got) { return SSL_read_ex(ssl_, buffer.data(), buffer.size(), got); },
      &n, &ec);
  // A record read may make OpenSSL answer (a KeyUpdate, an alert).
  if (!out_.empty() && !flushing_) StartFlush();
  starved_ = o == Outcome::kWantInput;
  if (starved_) ec = net::error::would_block;
  return o == Outcome::kDone ? n : 0;
}

size_t TlsByteStream::WriteSomeNow(net::const_buffer buffer, error_code& ec) {
  ec = {};
  if (buffer.size() == 0) return 0;
  size_t n = 0;
  const Outcome o = Perform(
      [this, buffer](size_t* put) { return SSL_write_ex(ssl_, buffer.data(), buffer.size(), put); },
      &n, &ec);
  if (!out_.empty() && !flushing_) StartFlush();
  if (o == Outcome::kWantInput) ec = net::error::would_block;
  return o == Outcome::kDone ? n : 0;
}

void TlsByteStream::Close() { inner_->Close(); }

}  // namespace trailkeep
