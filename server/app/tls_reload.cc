#include "server/app/tls_reload.h"

#include <utility>
#include <vector>

#include "common/base/sha256.h"
#include "server/app/reload_report.h"
#include "server/app/trust_anchors.h"
#include "server/net/tls_syslog_listener.h"
#include "server/selfaudit/self_audit.h"
#include "server/sinks/export_https_server.h"

namespace trailkeep {
namespace {

std::vector<std::pair<std::string, std::string>> Files(const TlsOptions& tls) {
  std::vector<std::pair<std::string, std::string>> files = {{"tls.cert_file", tls.cert_file},
                                                            {"tls.key_file", tls.key_file}};
  if (!tls.ca_file.empty()) files.emplace_back("tls.ca_file", tls.ca_file);
  if (!tls.crl_file.empty()) files.emplace_back("tls.crl_file", tls.crl_file);
  return files;
}

}  // namespace

TlsReload::TlsReload(Targets targets) : targets_(std::move(targets)), in_force_(DigestFiles()) {}

TlsReload::Digests TlsReload::DigestFiles() const {
  Digests d;
  for (const auto& [setting, path] : Files(targets_.tls)) d[setting] = FileSha256Hex(path);
  return d;
}

void TlsReload::Refuse(const std::string& why, ReloadReport* report) {
  targets_.audit->Record(SelfEventKind::kTlsReloadFailed, "",
                         "TLS reload refused, the previous certificate, key, CA and CRL stay in "
                         "force: " +
                             why,
                         {{"reason", why}});
  report->refused.push_back("tls");
}

void TlsReload::Reload(ReloadReport* report) {
  const TlsOptions& tls = targets_.tls;
  const Digests now = DigestFiles();
  if (Status s = CheckPrivateKey(tls.key_file, targets_.owner); !s.ok()) {
    return Refuse("tls.key_file: " + s.message(), report);
  }
  // The syslog port first: its context checks every file; the API's differs
  // only in asking for client certificates optionally.
  auto syslog = targets_.listener->ReloadTls();
  if (!syslog.ok()) return Refuse(syslog.status().message(), report);
  std::vector<WithdrawnPeer> withdrawn = std::move(syslog).value();
  if (targets_.export_api != nullptr) {
    auto api = targets_.export_api->ReloadTls();
    if (!api.ok()) {
      Refuse("export API: " + api.status().message(), report);
    } else {
      for (auto& w : api.value()) withdrawn.push_back(std::move(w));
    }
  }
  for (const auto& w : withdrawn) {
    targets_.audit->Record(
        SelfEventKind::kPeerRevoked, w.address,
        w.listener + ": connection from " + w.address + " (" + w.cert_subject +
            ") closed: its certificate is refused after the TLS reload: " + w.reason,
        {{"listener", w.listener},
         {"cert_subject", w.cert_subject},
         {"cert_sha256", w.cert_sha256},
         {"reason", w.reason}});
  }
  for (const auto& [setting, digest] : now) {
    auto it = in_force_.find(setting);
    if (it == in_force_.end() || it->second != digest) report->changed.push_back(setting);
  }
  in_force_ = now;
  report->fields.emplace_back("cert_sha256", PemCertificateFingerprints(tls.cert_file, true));
  report->fields.emplace_back("peers_closed", std::to_string(withdrawn.size()));
}

}  // namespace trailkeep
