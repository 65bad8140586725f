#include "server/sinks/export_auth.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/base/glob.h"

namespace trailkeep {
namespace {

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> NormalizeHosts(std::vector<std::string> hosts) {
  // "*" anywhere means every host: no restriction.
  if (std::find(hosts.begin(), hosts.end(), "*") != hosts.end()) return {};
  return hosts;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Sha256Raw(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<unsigned> ParseScopes(std::string_view list) {
  unsigned bits = 0;
  for (const auto& s : SplitComma(list)) {
    if (s == "export") {
      bits |= kScopeExport;
    } else if (s == "tail") {
      bits |= kScopeTail;
    } else if (s == "admin") {
      bits |= kScopeAdmin;
    } else {
      return Status::InvalidArgument("unknown scope '" + s + "' (export, tail, admin)");
    }
  }
  if (bits == 0) return Status::InvalidArgument("no scope given (export, tail, admin)");
  return bits;
}

std::string ScopeNames(unsigned scopes) {
  std::string out;
  auto add = [&](unsigned bit, const char* name) {
    if ((scopes & bit) == 0) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(kScopeExport, "export");
  add(kScopeTail, "tail");
  add(kScopeAdmin, "admin");
  return out;
}

bool ApiPrincipal::HostPatternAllowed(const std::string& requested) const {
  return HostMatchesAny(hosts, requested);
}

bool ApiPrincipal::HostMatchesAny(const std::vector<std::string>& patterns, std::string_view host) {
  return patterns.empty() || std::any_of(patterns.begin(), patterns.end(),
                                         [&](const std::string& p) { return GlobMatch(p, host); });
}

Result<std::string_view> BearerToken(std::string_view value) {
  constexpr std::string_view kScheme = "bearer";
  const auto bad = Status::InvalidArgument("the Authorization header must be 'Bearer TOKEN'");
  if (value.size() <= kScheme.size() ||
      Lower(std::string(value.substr(0, kScheme.size()))) != kScheme) {
    return bad;
  }
  size_t pos = kScheme.size();
  if (value[pos] != ' ') return bad;
  while (pos < value.size() && value[pos] == ' ') ++pos;
  std::string_view token = value.substr(pos);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  const auto token68 = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           (c != '\0' && std::strchr("-._~+/=", c) != nullptr);
  };
  if (token.empty() || !std::all_of(token.begin(), token.end(), token68)) return bad;
  return token;
}

Result<std::vector<TokenEntry>> ParseTokenFile(std::string_view text) {
  std::vector<TokenEntry> out;
  std::set<std::string> names;
  std::istringstream in{std::string(text)};
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string where = "line " + std::to_string(lineno) + ": ";
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.empty()) continue;
    if (f.size() != 4) {
      return Status::InvalidArgument(where +
                                     "expected 4 fields: name sha256-hex scopes hosts, found " +
                                     std::to_string(f.size()));
    }
    TokenEntry e;
    e.name = f[0];
    if (!names.insert(e.name).second) {
      return Status::InvalidArgument(where + "duplicate token name '" + e.name + "'");
    }
    if (f[1].size() != 64) {
      return Status::InvalidArgument(where + "the hash must be 64 hex digits (SHA-256)");
    }
    for (size_t i = 0; i < 64; i += 2) {
      const int hi = HexVal(f[1][i]), lo = HexVal(f[1][i + 1]);
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument(where + "the hash must be 64 hex digits (SHA-256)");
      }
      e.sha256.push_back(static_cast<char>(hi * 16 + lo));
    }
    auto scopes = ParseScopes(f[2]);
    if (!scopes.ok()) return Status::InvalidArgument(where + scopes.status().message());
    e.scopes = scopes.value();
    e.hosts = NormalizeHosts(SplitComma(f[3]));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<TokenEntry>> LoadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IoError("cannot read the token file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseTokenFile(ss.str());
  if (!parsed.ok()) return Status::InvalidArgument(path + ": " + parsed.status().message());
  return parsed;
}

std::string TokenFileLine(const std::string& name, std::string_view token, unsigned scopes,
                          const std::vector<std::string>& hosts) {
  std::string h;
  for (const auto& p : hosts) h += (h.empty() ? "" : ",") + p;
  return name + " " + Sha256Hex(token) + " " + ScopeNames(scopes) + " " + (h.empty() ? "*" : h);
}

ApiAuthenticator::ApiAuthenticator(std::vector<TokenEntry> tokens, std::vector<ClientRule> clients)
    : tokens_(std::move(tokens)), clients_(std::move(clients)) {
  for (auto& c : clients_) c.hosts = NormalizeHosts(c.hosts);
}

std::optional<ApiPrincipal> ApiAuthenticator::FromToken(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  const std::string digest = Sha256Raw(token);
  const TokenEntry* found = nullptr;
  // Every entry is compared, so the time taken does not say which matched.
  for (const auto& e : tokens_) {
    if (CRYPTO_memcmp(e.sha256.data(), digest.data(), digest.size()) == 0 && found == nullptr) {
      found = &e;
    }
  }
  if (found == nullptr) return std::nullopt;
  return ApiPrincipal{found->name, "token", found->scopes, found->hosts};
}

std::optional<ApiPrincipal> ApiAuthenticator::FromCertificate(
    const std::vector<std::string>& names) const {
  for (const auto& rule : clients_) {
    for (const auto& n : names) {
      if (!n.empty() && Lower(n) == Lower(rule.name)) {
        return ApiPrincipal{rule.name, "mtls", rule.scopes, rule.hosts};
      }
    }
  }
  return std::nullopt;
}

}  // namespace trailkeep
