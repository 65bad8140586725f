// The HTTPS API's request path without a socket: Beast's request parser with
// the limits the server sets (16 KiB of header, 64 KiB of body), fed in
// chunks as reads deliver them; a complete request goes through the server's
// router (RouteRequest), the Authorization header's Bearer parse and token
// lookup, then the endpoint's parameters (api_fuzz_common.h). Input: byte 0 picks
// the chunk size, the rest is the bytes on the connection (several
// keep-alive requests may follow each other).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/sinks/export_auth.h"
#include "tests/fuzz/api_fuzz_common.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

const trailkeep::ApiAuthenticator& Auth() {
  static const trailkeep::ApiAuthenticator auth = [] {
    trailkeep::TokenEntry t;
    t.name = "siem-1";
    t.sha256 = std::string(32, '\0');
    t.scopes = trailkeep::kAllScopes;
    t.hosts = {"web-*"};
    return trailkeep::ApiAuthenticator({t}, {});
  }();
  return auth;
}

// In the server's order: the route (405, 400, 404 before any credential),
// then the bearer token, then the endpoint's parameters.
void Handle(const http::request<http::string_body>& request) {
  const auto method = request.method_string();
  const std::string_view target(request.target().data(), request.target().size());
  const trailkeep::RoutedRequest routed =
      trailkeep::RouteRequest(std::string_view(method.data(), method.size()), target);
  if (!routed.ok()) return;
  auto it = request.find(http::field::authorization);
  if (it != request.end()) {
    auto token = trailkeep::BearerToken(std::string_view(it->value().data(), it->value().size()));
    if (token.ok()) {
      if (auto who = Auth().FromToken(token.value())) {
        for (const auto& h : who->hosts) (void)who->HostPatternAllowed(h);
      }
    }
  }
  trailkeep::fuzz::HandleRoute(routed.route);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 128;
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::optional<http::request_parser<http::string_body>> parser;
  auto fresh = [&parser] {
    parser.emplace();
    parser->header_limit(16 * 1024);
    parser->body_limit(64 * 1024);
    parser->eager(true);
  };
  fresh();
  std::string pending;  // bytes read but not consumed yet, as in a flat_buffer
  while (!stream.empty()) {
    pending.append(stream.substr(0, chunk));
    stream.remove_prefix(std::min(chunk, stream.size()));
    for (;;) {
      beast::error_code ec;
      const size_t used = parser->put(boost::asio::buffer(pending.data(), pending.size()), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) break;
      if (ec) return 0;  // the server answers 400 and closes
      if (!parser->is_done()) {
        if (used == 0) break;
        continue;
      }
      http::request<http::string_body> request = parser->release();
      Handle(request);
      if (!request.keep_alive()) return 0;
      fresh();
      if (pending.empty()) break;
    }
  }
  return 0;
}
