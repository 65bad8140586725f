#include "server/app/hangup_reload.h"

#include "server/app/config_trail.h"
#include "server/app/reload_report.h"
#include "server/app/rules_file.h"
#include "server/app/tls_reload.h"
#include "server/pipeline/hmac_keyring.h"
#include "server/selfaudit/self_audit.h"
#include "server/sinks/export_https_server.h"

namespace trailkeep {

void HangupReload::Start() {
  signal_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    Reload();
    Start();
  });
}

void HangupReload::Reload() {
  const Targets& t = targets_;
  ReloadReport report;
  ReloadRules(t.rules_path, t.rules, t.audit, &report, &rules_sha256_);
  t.keyring->Forget();  // each HMAC key is read and checked again on its next use
  for (const auto& problem : CheckPrivateKeys(*t.config, t.owner)) {
    t.audit->Record(SelfEventKind::kKeyFileRefused, "", problem);
  }
  t.export_api->ReloadTokens().IgnoreError();  // recorded as a collector event
  t.tls->Reload(&report);
  t.trail->Reload(&report);  // after the TLS part: the anchors it took in or refused
  report.Record(t.audit);
}

}  // namespace trailkeep
