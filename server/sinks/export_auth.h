// Authentication and authorisation of the HTTPS API (docs/api.md, "Auth").
//
// Callers present a bearer token or a client certificate. Tokens live in a
// token file, hashed at rest, one per line:
//
//   # name   sha256-hex-of-the-token                                           scopes        hosts
//   siem-1   3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b  export api-*,db-*
//
// scopes: comma-separated subset of export, tail, admin; hosts: comma-separated
// host globs, "*" for every host. A presented token is hashed and compared in
// constant time against every entry. Client certificates map to scopes through
// [[export.client]] rules naming a SAN dNSName or the subject CN.
//
// Pure code: no I/O except LoadTokenFile, no logging. Thread-safe after
// construction (const).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/sha256.h"  // Sha256Hex: token hashes
#include "common/base/status.h"

namespace trailkeep {

enum ApiScope : unsigned {
  kScopeExport = 1u << 0,
  kScopeTail = 1u << 1,
  kScopeAdmin = 1u << 2,
  kAllScopes = kScopeExport | kScopeTail | kScopeAdmin,
};

// "export,tail" -> bits; InvalidArgument naming an unknown scope.
Result<unsigned> ParseScopes(std::string_view comma_list);
std::string ScopeNames(unsigned scopes);  // "export,tail,admin"

struct ApiPrincipal {
  std::string name;    // token name, or the certificate name of the matching rule
  std::string method;  // "token" or "mtls"
  unsigned scopes = 0;
  std::vector<std::string> hosts;  // allowed host globs; empty = every host

  bool Has(ApiScope scope) const { return (scopes & scope) != 0; }
  bool Restricted() const { return !hosts.empty(); }
  // A requested host glob is allowed when one allowed pattern matches it as
  // text ("api-1*" under "api-*"). Text matching cannot decide what a glob
  // selects ("*[!x]*" passes under "*-web-*"), so this only chooses between a
  // 403 and an answer; every row of every answer is filtered by MaySee.
  bool HostPatternAllowed(const std::string& requested) const;
  // Whether rows of this (stored) host may be shown to the caller.
  bool MaySee(std::string_view host) const { return HostMatchesAny(hosts, host); }
  // The same test for a pattern list: empty = every host.
  static bool HostMatchesAny(const std::vector<std::string>& patterns, std::string_view host);
};

// The token of an `Authorization` header value: the scheme "Bearer" in any
// case (RFC 7235: schemes are case-insensitive), one or more spaces, then a
// token68. InvalidArgument (fit for a 401 body) otherwise.
Result<std::string_view> BearerToken(std::string_view header_value);

struct TokenEntry {
  std::string name;
  std::string sha256;  // 32 raw bytes
  unsigned scopes = 0;
  std::vector<std::string> hosts;  // empty = every host ("*")
};

struct ClientRule {
  std::string name;  // SAN dNSName or subject CN, exact (case-insensitive)
  unsigned scopes = 0;
  std::vector<std::string> hosts;  // empty = every host
};

// Parses the text of a token file. Blank lines and '#' comments are skipped.
// Errors name the line: "line 3: ...". Duplicate names are errors.
Result<std::vector<TokenEntry>> ParseTokenFile(std::string_view text);
Result<std::vector<TokenEntry>> LoadTokenFile(const std::string& path);
// One line of a token file for `token` ("NAME HEX SCOPES HOSTS").
std::string TokenFileLine(const std::string& name, std::string_view token, unsigned scopes,
                          const std::vector<std::string>& hosts);

class ApiAuthenticator {
 public:
  ApiAuthenticator(std::vector<TokenEntry> tokens, std::vector<ClientRule> clients);

  // Hashes `token` and compares it with every entry in constant time.
  std::optional<ApiPrincipal> FromToken(std::string_view token) const;
  // `names`: the verified certificate's SAN dNSNames and subject CN.
  std::optional<ApiPrincipal> FromCertificate(const std::vector<std::string>& names) const;

 private:
  std::vector<TokenEntry> tokens_;
  std::vector<ClientRule> clients_;
};

}  // namespace trailkeep
