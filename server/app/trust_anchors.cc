#include "server/app/trust_anchors.h"

#include <algorithm>
#include <memory>
#include <string_view>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/base/sha256.h"
#include "server/app/config.h"
#include "server/net/tls_context.h"
#include "server/tunnel/known_hosts.h"

namespace trailkeep {
namespace {

constexpr const char* kCa = "tls.ca_file";
constexpr const char* kCrl = "tls.crl_file";
constexpr const char* kPinned = "tls.permitted_fingerprints";
constexpr std::string_view kTunnelPrefix = "tunnel.";
constexpr std::string_view kKnownHostsSuffix = ".known_hosts_file";

}  // namespace

std::string PemCertificateFingerprints(const std::string& path, bool first_only) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), BIO_free);
  if (!bio) {
    ERR_clear_error();
    return "";
  }
  std::string out;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out += (out.empty() ? "" : ",") + CertificateSha256(cert);
    X509_free(cert);
    if (first_only) break;
  }
  ERR_clear_error();  // the end of the file reads as an error
  return out;
}

TrustAnchors ReadTrustAnchors(const ServerConfig& config) {
  TrustAnchors anchors;
  const TlsOptions& tls = config.syslog.tls;
  if (!tls.ca_file.empty()) anchors[kCa] = PemCertificateFingerprints(tls.ca_file, false);
  if (!tls.crl_file.empty()) anchors[kCrl] = FileSha256Hex(tls.crl_file);
  if (!tls.permitted_fingerprints.empty()) {
    std::vector<std::string> pinned = tls.permitted_fingerprints;
    std::sort(pinned.begin(), pinned.end());
    std::string joined;
    for (const auto& p : pinned) joined += (joined.empty() ? "" : ",") + p;
    anchors[kPinned] = joined;
  }
  for (const auto& t : config.tunnels) {
    anchors[std::string(kTunnelPrefix) + t.name + std::string(kKnownHostsSuffix)] =
        KnownHostsFingerprints(t.known_hosts_file);
  }
  return anchors;
}

std::vector<std::pair<std::string, std::string>> TrustAnchorFields(const TrustAnchors& anchors) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::string known_hosts;
  bool tunnels = false;
  for (const auto& [anchor, fingerprints] : anchors) {
    if (anchor == kCa) {
      fields.emplace_back("ca_sha256", fingerprints);
    } else if (anchor == kCrl) {
      fields.emplace_back("crl_sha256", fingerprints);
    } else if (anchor == kPinned) {
      fields.emplace_back("pinned_fingerprints", fingerprints);
    } else if (anchor.rfind(kTunnelPrefix, 0) == 0) {
      const std::string name = anchor.substr(
          kTunnelPrefix.size(), anchor.size() - kTunnelPrefix.size() - kKnownHostsSuffix.size());
      known_hosts += (tunnels ? " " : "") + name + "=" + fingerprints;
      tunnels = true;
    }
  }
  if (tunnels) fields.emplace_back("known_hosts_sha256", known_hosts);
  return fields;
}

}  // namespace trailkeep
