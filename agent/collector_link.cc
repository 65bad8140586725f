#include "agent/collector_link.h"

#include <chrono>
#include <random>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include "agent/message_builder.h"
#include "agent/spool.h"
#include "common/tls/tls_client.h"
#include "common/wire/hmac_chain.h"
#include "common/wire/octet_framer.h"
#include "common/wire/port60_hello.h"
#include "trailkeep/v1/wire.pb.h"

namespace trailkeep::agent {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using net::awaitable;
using net::redirect_error;
using net::use_awaitable;
using net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kResumeTimeout = std::chrono::seconds(30);
constexpr size_t kBatchBytes = 256 * 1024;
constexpr size_t kMaxCollectorFrame = 64 * 1024;

std::string CertSha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string Fingerprint(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "sha-256:";
  for (size_t i = 0; i < raw.size(); ++i) {
    if (i > 0) out.push_back(':');
    const auto c = static_cast<unsigned char>(raw[i]);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

// One connection's state, shared by its writer and reader coroutines.
struct Connection {
  Connection(net::io_context& io, ssl::context& ctx) : stream(io, ctx), wake(io) {}
  ssl::stream<tcp::socket> stream;
  net::steady_timer wake;  // the writer waits on it; cancelled to wake it
  bool failed = false;
  std::string error;
  bool protocol = false;  // trailkeep/1 selected
  bool paused = false;    // the collector's Pause, until its Proceed
  OctetFramer framer{kMaxCollectorFrame};

  void Fail(std::string why) {
    if (!failed) {
      failed = true;
      error = std::move(why);
    }
    wake.cancel();
    error_code ignored;
    stream.lowest_layer().close(ignored);
  }
};

struct CollectorLink::Impl : std::enable_shared_from_this<CollectorLink::Impl> {
  Impl(net::io_context& io_context, LinkOptions o, Spool* s)
      : io(io_context),
        options(std::move(o)),
        spool(s),
        ctx(ssl::context::tls_client),
        retry(io_context) {}

  net::io_context& io;
  LinkOptions options;
  Spool* spool;
  ssl::context ctx;
  net::steady_timer retry;
  std::shared_ptr<Connection> conn;
  bool stopped = false;
  uint64_t next_seq = 0;  // next record to send on the current connection
  std::mt19937_64 rng{std::random_device{}()};
  std::string last_error;  // to log a repeated failure once at warn level

  Status SetUpTls();
  awaitable<void> Run();
  awaitable<void> Session(bool* established);
  awaitable<void> Reader(std::shared_ptr<Connection> c);
  awaitable<void> Writer(std::shared_ptr<Connection> c);
  awaitable<bool> ReadFrame(const std::shared_ptr<Connection>& c, v1::CollectorFrame* frame);
  // Port 60: hello and its answer before TLS; "" when accepted, else why not.
  awaitable<std::string> Port60Hello(std::shared_ptr<Connection> c);
  void HandleFrame(const std::shared_ptr<Connection>& c, const v1::CollectorFrame& frame);
  void OnResume(const v1::Resume& r);
};

Status CollectorLink::Impl::SetUpTls() {
  const CollectorConfig& cc = options.collector;
  TlsClientOptions tls;
  tls.profile = cc.tls_profile;
  tls.ca_file = cc.ca_file;
  tls.cert_file = cc.cert_file;
  tls.key_file = cc.key_file;
  if (Status s = ConfigureTlsClient(ctx.native_handle(), tls); !s.ok()) {
    return Status::InvalidArgument("collector TLS set-up: " + s.message() +
                                   " (check collector.ca_file, cert_file, key_file, tls_profile)");
  }
  // The client certificate should name the host we claim in HOSTNAME.
  if (X509* own = SSL_CTX_get0_certificate(ctx.native_handle())) {
    if (X509_check_host(own, options.host.data(), options.host.size(), 0, nullptr) != 1) {
      spdlog::warn(
          "the client certificate {} does not name agent.host '{}'; the collector "
          "refuses a HOSTNAME that disagrees with the certificate",
          cc.cert_file, options.host);
    }
  }
  const std::string pin = cc.pinned_sha256;
  const bool have_ca = !cc.ca_file.empty();
  ctx.set_verify_callback([pin, have_ca](bool preverified, ssl::verify_context& vc) {
    X509_STORE_CTX* store = vc.native_handle();
    const int depth = X509_STORE_CTX_get_error_depth(store);
    if (pin.empty()) return preverified;
    if (depth > 0) return have_ca ? preverified : true;
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    const bool match = cert != nullptr && CertSha256(cert) == pin;
    if (!match) {
      spdlog::error("collector certificate fingerprint {} is not the pinned {}",
                    cert != nullptr ? Fingerprint(CertSha256(cert)) : "?", Fingerprint(pin));
      return false;
    }
    return have_ca ? preverified : true;
  });
  return Status::Ok();
}

awaitable<void> CollectorLink::Impl::Run() {
  auto self = shared_from_this();
  const auto& cc = options.collector;
  int backoff_ms = cc.reconnect_min_ms;
  while (!stopped) {
    bool established = false;
    co_await Session(&established);
    if (stopped) break;
    if (established) backoff_ms = cc.reconnect_min_ms;
    // Jitter in [backoff/2, backoff]: agents cut off together do not return together.
    std::uniform_int_distribution<int> jitter(backoff_ms / 2, backoff_ms);
    const int wait_ms = jitter(rng);
    spdlog::info("collector {}: reconnecting in {} ms", cc.address, wait_ms);
    retry.expires_after(std::chrono::milliseconds(wait_ms));
    error_code ec;
    co_await retry.async_wait(redirect_error(use_awaitable, ec));
    backoff_ms = std::min(backoff_ms * 2, cc.reconnect_max_ms);
  }
}

awaitable<std::string> CollectorLink::Impl::Port60Hello(std::shared_ptr<Connection> c) {
  net::steady_timer deadline(io);
  deadline.expires_after(kConnectTimeout);
  deadline.async_wait([c](error_code e) {
    if (!e) c->Fail("no answer to the port-60 hello");
  });
  error_code ec;
  co_await net::async_write(c->stream.next_layer(),
                            net::buffer(kAgentHello.data(), kAgentHello.size()),
                            redirect_error(use_awaitable, ec));
  std::string answer(kAgentHelloAccepted.size(), '\0');
  if (!ec) {
    co_await net::async_read(c->stream.next_layer(), net::buffer(answer),
                             redirect_error(use_awaitable, ec));
  }
  deadline.cancel();
  if (c->failed) co_return c->error;
  if (ec) co_return "hello: " + ec.message() + " (no trailkeepd behind the tunnel?)";
  if (answer != kAgentHelloAccepted) {
    co_return "the far end is not a trailkeepd port-60 listener (it answered the hello with " +
        std::to_string(answer.size()) + " other bytes)";
  }
  co_return "";
}

awaitable<void> CollectorLink::Impl::Session(bool* established) {
  const auto& cc = options.collector;
  error_code ec;
  auto report = [&](const std::string& what) {
    if (what != last_error) {
      spdlog::warn("collector {}: {}", cc.address, what);
    } else {
      spdlog::debug("collector {}: {}", cc.address, what);
    }
    last_error = what;
  };

  tcp::resolver resolver(io);
  auto endpoints =
      co_await resolver.async_resolve(cc.host, cc.port, redirect_error(use_awaitable, ec));
  if (ec) {
    report("cannot resolve " + cc.host + ": " + ec.message());
    co_return;
  }

  // Try each address in turn, each with its own deadline.
  std::shared_ptr<Connection> c;
  std::string tried;
  for (const auto& entry : endpoints) {
    if (stopped) co_return;
    c = std::make_shared<Connection>(io, ctx);
    conn = c;
    net::steady_timer deadline(io);
    deadline.expires_after(kConnectTimeout);
    deadline.async_wait([c](error_code e) {
      if (!e) c->Fail("timed out");
    });
    co_await c->stream.lowest_layer().async_connect(entry.endpoint(),
                                                    redirect_error(use_awaitable, ec));
    deadline.cancel();
    if (!ec && !c->failed) break;
    tried += (tried.empty() ? "" : ", ") + entry.endpoint().address().to_string() + ": " +
             (c->failed ? c->error : ec.message());
    c.reset();
  }
  if (!c) {
    report("cannot connect (" + tried + ")");
    co_return;
  }
  const std::string peer = c->stream.lowest_layer().remote_endpoint(ec).address().to_string();
  c->stream.lowest_layer().set_option(tcp::no_delay(true), ec);
  c->stream.lowest_layer().set_option(net::socket_base::keep_alive(true), ec);

  if (cc.transport == CollectorTransport::kPort60) {
    const std::string refused = co_await Port60Hello(c);
    if (!refused.empty()) {
      report("port 60 at " + peer + ": " + refused);
      c->Fail(refused);
      co_return;
    }
  }

  // TLS: SNI and name check for server_name, ALPN trailkeep/1.
  // With a pinned certificate only, the pin is the check: no name to match.
  SSL* ssl_handle = c->stream.native_handle();
  SetTlsServerName(ssl_handle, cc.server_name, !cc.ca_file.empty());
  static const unsigned char kAlpnWire[] = "\x0btrailkeep/1";
  SSL_set_alpn_protos(ssl_handle, kAlpnWire, sizeof kAlpnWire - 1);
  {
    net::steady_timer deadline(io);
    deadline.expires_after(kConnectTimeout);
    deadline.async_wait([c](error_code e) {
      if (!e) c->Fail("TLS handshake timed out");
    });
    co_await c->stream.async_handshake(ssl::stream_base::client, redirect_error(use_awaitable, ec));
    deadline.cancel();
  }
  if (ec || c->failed) {
    std::string what =
        "TLS handshake with " + peer + " failed: " + (c->failed ? c->error : ec.message());
    if (const std::string bad = TlsVerifyFailure(ssl_handle); !bad.empty()) {
      what += " (collector certificate: " + bad + ")";
    }
    report(what);
    c->Fail(what);
    co_return;
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl_handle, &alpn, &alpn_len);
  c->protocol = std::string_view(reinterpret_cast<const char*>(alpn), alpn_len) == kAlpnProtocol;
  spdlog::info("collector {}: connected to {} ({}, ALPN {})", cc.address, peer,
               SSL_get_version(ssl_handle), c->protocol ? kAlpnProtocol : "none");

  if (!c->protocol) {
    if (cc.acks == AckMode::kRequired) {
      spdlog::error(
          "collector {}: collector did not select ALPN trailkeep/1; events stay spooled (set "
          "acks = \"none\" for a plain relay)",
          cc.address);
      c->Fail("no trailkeep/1");
      co_return;
    }
    next_seq = spool->first_seq();
    spdlog::info("collector {}: acks = \"none\": best effort, sending from seq {}", cc.address,
                 next_seq);
  } else {
    // The first frame is the Resume.
    v1::CollectorFrame frame;
    net::steady_timer deadline(io);
    deadline.expires_after(kResumeTimeout);
    deadline.async_wait([c](error_code e) {
      if (!e) c->Fail("no Resume from the collector in time");
    });
    const bool got = co_await ReadFrame(c, &frame);
    deadline.cancel();
    if (!got) {
      report("no Resume: " + c->error);
      c->Fail(c->error);
      co_return;
    }
    if (frame.has_goodbye()) {
      report("collector said goodbye: " + frame.goodbye().reason());
      c->Fail("goodbye");
      co_return;
    }
    if (!frame.has_resume()) {
      report("protocol error: the collector's first frame is not a Resume");
      c->Fail("protocol error");
      co_return;
    }
    OnResume(frame.resume());
  }
  last_error.clear();
  *established = true;

  net::co_spawn(io, Reader(c), net::detached);
  co_await Writer(c);
  c->Fail("writer ended");
  if (!stopped) report("connection lost: " + c->error);
  conn.reset();
}

void CollectorLink::Impl::OnResume(const v1::Resume& r) {
  const auto& cc = options.collector;
  if (!r.host().empty() && r.host() != options.host) {
    spdlog::warn("collector {}: the collector binds this connection to host '{}', not '{}'",
                 cc.address, r.host(), options.host);
  }
  if (r.epoch() == spool->epoch()) {
    Status s = spool->Acknowledge(r.contiguous_seq());
    if (!s.ok()) spdlog::error("spool: {}", s.ToString());
    next_seq = r.contiguous_seq() + 1;
    if (next_seq < spool->first_seq()) {
      spdlog::warn(
          "collector {}: the collector has our epoch up to seq {} but the spool starts at "
          "seq {}: the events in between are lost",
          cc.address, r.contiguous_seq(), spool->first_seq());
      next_seq = spool->first_seq();
    }
    spdlog::info("collector {}: resume at epoch {} seq {}; sending from seq {} (spool head {})",
                 cc.address, r.epoch(), r.contiguous_seq(), next_seq, spool->last_seq());
  } else {
    next_seq = spool->first_seq();
    spdlog::info(
        "collector {}: the collector knows epoch {} seq {}, ours is epoch {}; sending "
        "from the first spooled seq {} (spool head {})",
        cc.address, r.epoch(), r.contiguous_seq(), spool->epoch(), next_seq, spool->last_seq());
  }
}

awaitable<bool> CollectorLink::Impl::ReadFrame(const std::shared_ptr<Connection>& c,
                                               v1::CollectorFrame* frame) {
  char buf[16 * 1024];
  for (;;) {
    std::string_view bytes;
    OctetFramer::Kind kind;
    const auto r = c->framer.Next(&bytes, &kind);
    if (r == OctetFramer::Result::kFrame) {
      if (kind != OctetFramer::Kind::kOctetCounted ||
          !frame->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        c->Fail("protocol error: undecodable frame from the collector");
        co_return false;
      }
      co_return true;
    }
    if (r == OctetFramer::Result::kError) {
      c->Fail("protocol error: " + c->framer.error());
      co_return false;
    }
    error_code ec;
    const size_t n =
        co_await c->stream.async_read_some(net::buffer(buf), redirect_error(use_awaitable, ec));
    if (ec) {
      c->Fail(ec == net::error::eof || ec == ssl::error::stream_truncated
                  ? "the collector closed the connection"
                  : "read: " + ec.message());
      co_return false;
    }
    c->framer.Feed(std::string_view(buf, n));
  }
}

void CollectorLink::Impl::HandleFrame(const std::shared_ptr<Connection>& c,
                                      const v1::CollectorFrame& frame) {
  const auto& cc = options.collector;
  if (frame.has_ack()) {
    if (frame.ack().epoch() != spool->epoch()) {
      spdlog::debug("collector {}: ack for epoch {} ignored (ours is {})", cc.address,
                    frame.ack().epoch(), spool->epoch());
      return;
    }
    Status s = spool->Acknowledge(frame.ack().contiguous_seq());
    if (!s.ok()) spdlog::error("spool: {}", s.ToString());
    if (frame.ack().contiguous_seq() >= next_seq) next_seq = frame.ack().contiguous_seq() + 1;
  } else if (frame.has_goodbye()) {
    spdlog::warn("collector {}: goodbye: {}", cc.address, frame.goodbye().reason());
  } else if (frame.has_resume()) {
    spdlog::warn("collector {}: unexpected Resume in mid-connection; ignored", cc.address);
  } else if (frame.has_pause()) {
    // The collector takes no data for now (its disk is full): keep the
    // connection and the spool, send nothing until it proceeds. Not a
    // reason to reconnect, which would only be paused again.
    if (!c->paused) {
      spdlog::warn("collector {}: paused: {}; events stay spooled until it proceeds", cc.address,
                   frame.pause().reason());
    }
    c->paused = true;
  } else if (frame.has_proceed()) {
    if (c->paused) {
      spdlog::info("collector {}: proceed: sending again from seq {}", cc.address, next_seq);
    }
    c->paused = false;
    c->wake.cancel();
  }
}

awaitable<void> CollectorLink::Impl::Reader(std::shared_ptr<Connection> c) {
  auto self = shared_from_this();
  if (!c->protocol) {
    // A plain relay sends nothing; read only to notice the close.
    char buf[4096];
    while (!c->failed) {
      error_code ec;
      co_await c->stream.async_read_some(net::buffer(buf), redirect_error(use_awaitable, ec));
      if (ec) c->Fail(ec == net::error::eof ? "the collector closed the connection" : ec.message());
    }
    co_return;
  }
  v1::CollectorFrame frame;
  while (!c->failed) {
    frame.Clear();
    if (!co_await ReadFrame(c, &frame)) break;
    HandleFrame(c, frame);
  }
}

awaitable<void> CollectorLink::Impl::Writer(std::shared_ptr<Connection> c) {
  const auto interval = std::chrono::milliseconds(options.heartbeat_interval_ms);
  Clock::time_point last_heartbeat{};
  bool heartbeat_sent = false;
  bool truncation_announced = false;
  std::vector<SpooledMessage> batch;
  std::string out;
  while (!c->failed && !stopped) {
    if (c->paused) {
      // Until the Proceed (or the connection's end) cancels the wait.
      c->wake.expires_after(std::chrono::hours(24));
      error_code ec;
      co_await c->wake.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    batch.clear();
    if (Status s = spool->Read(next_seq, kBatchBytes, &batch); !s.ok()) {
      spdlog::error("spool read: {}", s.ToString());
    }
    out.clear();
    // Newest records deleted from the spool (Spool::truncated_head_seq):
    // right after the last surviving one, a heartbeat states the head they
    // reached, so the collector reports a truncated tail, not a gap.
    const uint64_t cut = spool->truncated_head_seq();
    if (cut != 0 && !truncation_announced && !batch.empty() && batch.back().seq > cut) {
      size_t keep = 0;
      while (keep < batch.size() && batch[keep].seq <= cut) ++keep;
      if (keep > 0) {
        batch.resize(keep);
      } else {
        const std::string hb =
            SignHeartbeat(options.hmac_key, options.host, options.enterprise_number, spool->epoch(),
                          cut, spool->truncated_head_mac(), options.clock->NowMicros());
        AppendOctetCounted(hb, &out);  // out is empty here
        truncation_announced = true;
      }
    }
    if (batch.empty()) {
      const auto now = Clock::now();
      if (!heartbeat_sent || now - last_heartbeat >= interval) {
        const std::string hb =
            SignHeartbeat(options.hmac_key, options.host, options.enterprise_number, spool->epoch(),
                          spool->last_seq(), spool->head_mac(), options.clock->NowMicros());
        AppendOctetCounted(hb, &out);  // out is empty here
        last_heartbeat = now;
        heartbeat_sent = true;
      } else {
        c->wake.expires_at(last_heartbeat + interval);
        error_code ec;
        co_await c->wake.async_wait(redirect_error(use_awaitable, ec));
        continue;
      }
    } else {
      for (const auto& m : batch) AppendOctetCounted(m.message, &out);
    }
    error_code ec;
    co_await net::async_write(c->stream, net::buffer(out), redirect_error(use_awaitable, ec));
    if (ec) {
      c->Fail("write: " + ec.message());
      break;
    }
    if (!batch.empty()) {
      next_seq = std::max(next_seq, batch.back().seq + 1);
      if (!c->protocol) {
        Status s = spool->Acknowledge(batch.back().seq);
        if (!s.ok()) spdlog::error("spool: {}", s.ToString());
      }
    }
  }
}

CollectorLink::CollectorLink(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
CollectorLink::~CollectorLink() { Stop(); }

Result<std::unique_ptr<CollectorLink>> CollectorLink::Create(net::io_context& io,
                                                             LinkOptions options, Spool* spool) {
  auto impl = std::make_shared<Impl>(io, std::move(options), spool);
  Status s = impl->SetUpTls();
  if (!s.ok()) return s;
  return std::unique_ptr<CollectorLink>(new CollectorLink(std::move(impl)));
}

void CollectorLink::Start() { net::co_spawn(impl_->io, impl_->Run(), net::detached); }

void CollectorLink::Wake() {
  if (impl_->conn) impl_->conn->wake.cancel();
}

void CollectorLink::SetHeartbeatKey(std::string key) { impl_->options.hmac_key = std::move(key); }

void CollectorLink::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->retry.cancel();
  if (impl_->conn) impl_->conn->Fail("stopping");
}

}  // namespace trailkeep::agent
