#include "common/api/api_client.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include "common/config/toml_reader.h"
#include "common/tls/tls_client.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr int kConnectTimeoutMs = 10'000;

std::string ReadFileTrimmed(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string UrlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status LoadClientConfig(const std::string& path, ClientOptions* o) {
  std::string file = path;
  if (file.empty()) {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    const char* home = std::getenv("HOME");
    if (xdg != nullptr && *xdg != '\0') {
      file = std::string(xdg) + "/trailkeep/client.toml";
    } else if (home != nullptr && *home != '\0') {
      file = std::string(home) + "/.config/trailkeep/client.toml";
    } else {
      return Status::Ok();
    }
    if (!std::filesystem::exists(file)) return Status::Ok();
  }
  TomlReader r(file, std::filesystem::path(file).parent_path().string());
  const std::optional<toml::table> t = r.ParseFile();
  if (!t) return Status::InvalidArgument(r.ErrorText());
  std::string server;
  r.String(*t, "", "server", &server);
  if (o->server.empty()) o->server = server;  // the command line wins
  const std::pair<const char*, std::string*> paths[] = {
      {"cacert", &o->cacert}, {"cert", &o->cert}, {"key", &o->key}, {"token_file", &o->token_file}};
  for (const auto& [key, field] : paths) {
    std::string value;
    r.String(*t, "", key, &value);
    if (value.empty() || !field->empty()) continue;
    const char* home = std::getenv("HOME");
    if (value[0] == '~' && home != nullptr) value = std::string(home) + value.substr(1);
    *field = r.Resolve(value);
  }
  std::string profile;
  r.String(*t, "", "tls_profile", &profile);
  if (auto p = ParseTlsProfile(profile)) {
    o->tls_profile = *p;
  } else if (!profile.empty()) {
    r.Error(t->get("tls_profile"), "tls_profile must be \"ndcpp\" or \"modern\"");
  }
  r.Unknown(*t, "");
  if (!r.ok()) return Status::InvalidArgument(r.ErrorText());
  return Status::Ok();
}

struct ApiClient::Impl {
  net::io_context io;
  net::signal_set signals{io, SIGINT, SIGTERM};
  ssl::context ctx{ssl::context::tls_client};
  std::string host, port, token;
  bool host_is_ip = false;
  bool interrupted = false;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream;

  void WaitSignals() {
    signals.async_wait([this](error_code ec, int) {
      if (ec) return;
      interrupted = true;
      if (stream) beast::get_lowest_layer(*stream).close();
    });
  }

  // Runs the io_context until *done (or an interruption closes the socket,
  // which completes the pending operation with an error). Returns false when
  // interrupted, even if the operation itself completed.
  bool RunUntil(const bool& done) {
    while (!done) io.run_one();
    return !interrupted;
  }
};

ApiClient::ApiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiClient::~ApiClient() = default;
bool ApiClient::Interrupted() const { return impl_->interrupted; }

void ApiClient::Sleep(std::chrono::milliseconds duration) {
  // Run the io_context meanwhile, so a signal is handled at once.
  impl_->io.restart();
  impl_->io.run_for(duration);
  impl_->io.restart();
}

Result<std::unique_ptr<ApiClient>> ApiClient::Create(const ClientOptions& o) {
  auto impl = std::make_unique<Impl>();
  std::string rest = o.server;
  constexpr std::string_view kScheme = "https://";
  if (rest.rfind(kScheme, 0) != 0) {
    return Status::InvalidArgument("--server must be an https:// URL (got '" + o.server +
                                   "'); put it on the command line or in the client config");
  }
  rest = rest.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) {
    return Status::InvalidArgument("--server takes no path: https://HOST:PORT");
  }
  impl->port = "8443";
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("bad IPv6 address in --server");
    impl->host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return Status::InvalidArgument("bad --server URL");
      impl->port = rest.substr(close + 2);
    }
  } else {
    const size_t colon = rest.rfind(':');
    impl->host = rest.substr(0, colon);
    if (colon != std::string::npos) impl->port = rest.substr(colon + 1);
  }
  if (impl->host.empty() || impl->port.empty()) {
    return Status::InvalidArgument("bad --server URL '" + o.server + "'");
  }
  error_code ec;
  net::ip::make_address(impl->host, ec);
  impl->host_is_ip = !ec;

  if (o.cert.empty() != o.key.empty()) {
    return Status::InvalidArgument("--cert and --key go together");
  }
  TlsClientOptions tls;
  tls.profile = o.tls_profile;
  tls.ca_file = o.cacert;
  tls.use_system_store = true;
  tls.cert_file = o.cert;
  tls.key_file = o.key;
  if (Status s = ConfigureTlsClient(impl->ctx.native_handle(), tls); !s.ok()) {
    return Status::InvalidArgument("TLS set-up: " + s.message() +
                                   " (check --cacert, --cert, --key, tls_profile)");
  }
  if (!o.token_file.empty()) {
    std::string err;
    impl->token = ReadFileTrimmed(o.token_file, &err);
    if (!err.empty()) return Status::InvalidArgument(err);
    if (impl->token.empty()) return Status::InvalidArgument(o.token_file + " is empty");
  }
  if (impl->token.empty() && o.cert.empty()) {
    return Status::InvalidArgument(
        "no credentials: give --token-file FILE or --cert FILE --key FILE (or set them in the "
        "client config)");
  }
  impl->WaitSignals();
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(impl)));
}

Status ApiClient::Get(const std::string& target,
                      const std::function<bool(std::string_view)>& on_line, int read_timeout_ms) {
  return Exchange(/*post=*/false, target, on_line, read_timeout_ms);
}

Status ApiClient::Post(const std::string& target,
                       const std::function<bool(std::string_view)>& on_line, int read_timeout_ms) {
  return Exchange(/*post=*/true, target, on_line, read_timeout_ms);
}

Status ApiClient::Exchange(bool post, const std::string& target,
                           const std::function<bool(std::string_view)>& on_line,
                           int read_timeout_ms) {
  Impl& m = *impl_;
  if (m.interrupted) return Status::Aborted("interrupted");
  m.stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(m.io, m.ctx);
  auto& stream = *m.stream;
  auto& tcp_layer = beast::get_lowest_layer(stream);
  auto fail = [&](const std::string& what, const error_code& ec) {
    error_code ignored;
    tcp_layer.socket().close(ignored);
    if (m.interrupted) return Status::Aborted("interrupted");
    return Status::Unavailable(what + ": " + ec.message());
  };

  // Resolve and connect.
  bool done = false;
  error_code ec;
  tcp::resolver resolver(m.io);
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(m.host, m.port, [&](error_code e, tcp::resolver::results_type r) {
    ec = e;
    endpoints = std::move(r);
    done = true;
  });
  if (!m.RunUntil(done)) return fail("interrupted", ec);
  if (ec) return fail("cannot resolve " + m.host, ec);
  done = false;
  tcp_layer.expires_after(std::chrono::milliseconds(kConnectTimeoutMs));
  tcp_layer.async_connect(endpoints, [&](error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  if (!m.RunUntil(done)) return fail("interrupted", ec);
  if (ec) return fail("cannot connect to " + m.host + ":" + m.port, ec);

  // TLS: SNI for names; the certificate must name the host (or IP) we asked for.
  SSL* ssl_handle = stream.native_handle();
  SetTlsServerName(ssl_handle, m.host, true);
  done = false;
  tcp_layer.expires_after(std::chrono::milliseconds(kConnectTimeoutMs));
  stream.async_handshake(ssl::stream_base::client, [&](error_code e) {
    ec = e;
    done = true;
  });
  if (!m.RunUntil(done)) return fail("interrupted", ec);
  if (ec) {
    std::string what = "TLS handshake with " + m.host + ":" + m.port + " failed";
    if (const std::string bad = TlsVerifyFailure(ssl_handle); !bad.empty()) {
      what += " (server certificate: " + bad + ")";
    }
    return fail(what, ec);
  }

  http::request<http::empty_body> req{post ? http::verb::post : http::verb::get, target, 11};
  req.set(http::field::host, m.host_is_ip && m.host.find(':') != std::string::npos
                                 ? "[" + m.host + "]:" + m.port
                                 : m.host + ":" + m.port);
  req.set(http::field::user_agent, "trailkeep-cli");
  req.set(http::field::accept, "application/x-ndjson, application/json");
  if (!m.token.empty()) req.set(http::field::authorization, "Bearer " + m.token);
  req.keep_alive(false);
  done = false;
  tcp_layer.expires_after(std::chrono::milliseconds(kConnectTimeoutMs));
  http::async_write(stream, req, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!m.RunUntil(done)) return fail("interrupted", ec);
  if (ec) return fail("sending the request", ec);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // tails never end
  done = false;
  tcp_layer.expires_after(std::chrono::milliseconds(read_timeout_ms));
  http::async_read_header(stream, buffer, parser, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!m.RunUntil(done)) return fail("interrupted", ec);
  if (ec) return fail("reading the response", ec);
  const unsigned status = parser.get().result_int();

  std::string pending, error_body;
  bool stop = false;
  auto feed = [&](std::string_view data) {
    if (status != 200) {
      if (error_body.size() < 64 * 1024) error_body.append(data);
      return;
    }
    pending.append(data);
    size_t start = 0, nl;
    while (!stop && (nl = pending.find('\n', start)) != std::string::npos) {
      if (!on_line(std::string_view(pending).substr(start, nl - start))) stop = true;
      start = nl + 1;
    }
    pending.erase(0, start);
  };
  char buf[64 * 1024];
  while (!parser.is_done() && !stop) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    done = false;
    tcp_layer.expires_after(std::chrono::milliseconds(read_timeout_ms));
    http::async_read_some(stream, buffer, parser, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!m.RunUntil(done)) return fail("interrupted", ec);
    if (ec == http::error::need_buffer) ec = {};
    feed(std::string_view(buf, sizeof buf - parser.get().body().size));
    if (ec) {
      if (m.interrupted) return Status::Aborted("interrupted");
      if (status != 200) break;
      return fail("the connection broke", ec);
    }
  }
  if (!stop && status == 200 && !pending.empty()) on_line(pending);
  error_code ignored;
  tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp_layer.close();
  if (m.interrupted) return Status::Aborted("interrupted");
  if (status == 200) return Status::Ok();
  std::string msg = "HTTP " + std::to_string(status);
  while (!error_body.empty() && (error_body.back() == '\n')) error_body.pop_back();
  if (!error_body.empty()) msg += ": " + error_body;
  if (status >= 500) return Status::Unavailable(msg);
  return Status::InvalidArgument(msg);
}

}  // namespace trailkeep
