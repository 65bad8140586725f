// TrustAnchors: what the collector trusts its peers by, read from the files
// and settings in force, each with its fingerprints, for COLLECTOR_START and
// CONFIG_RELOADED (config_trail.h):
//   tls.ca_file                    SHA-256 of each CA certificate, file order
//   tls.crl_file                   SHA-256 of the CRL file's bytes
//   tls.permitted_fingerprints     the pinned peer fingerprints, sorted
//   tunnel.<name>.known_hosts_file SHA256:... of each host key (ssh-keygen -l)
// An anchor that is not configured is absent; one that cannot be read maps
// to "" (its loading reports why). The map has ConfigRendering's shape:
// ChangedKeys (config_rendering.h) names the anchors a reload changed.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace trailkeep {

struct ServerConfig;

using TrustAnchors = std::map<std::string, std::string>;  // anchor -> fingerprints

TrustAnchors ReadTrustAnchors(const ServerConfig& config);

// The SHA-256 fingerprints ("sha-256:AB:..") of the certificates in a PEM
// file, comma-separated in file order (the first only when `first_only`: a
// server chain's leaf); "" when the file cannot be read.
std::string PemCertificateFingerprints(const std::string& path, bool first_only);

// The anchors as event fields: ca_sha256, crl_sha256, pinned_fingerprints,
// known_hosts_sha256 ("name=SHA256:..,SHA256:.. name2=..."), each present
// when its anchor is configured.
std::vector<std::pair<std::string, std::string>> TrustAnchorFields(const TrustAnchors& anchors);

}  // namespace trailkeep
