#include "server/app/config_trail.h"

#include <algorithm>

#include "server/app/config.h"
#include "server/app/reload_report.h"

namespace trailkeep {
namespace {

bool Contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

}  // namespace

ConfigTrail::ConfigTrail(const ServerConfig& config)
    : config_(config), started_(Read()), last_(started_), anchors_(ReadTrustAnchors(config)) {}

ConfigTrail::Reading ConfigTrail::Read() const {
  Reading r;
  if (config_.dev_mode) {
    r.error = "development mode: no configuration file";
    return r;
  }
  auto rendered = RenderConfigFile(config_.source, &r.file_sha256);
  if (!rendered.ok()) {
    r.error = rendered.status().message();
    return r;
  }
  r.rendering = std::move(rendered).value();
  r.sha256 = RenderingSha256(r.rendering);
  return r;
}

ConfigTrail::Fields ConfigTrail::StartFields() const {
  Fields fields;
  if (started_.error.empty()) {
    fields.emplace_back("config_sha256", started_.sha256);
    fields.emplace_back("config_file_sha256", started_.file_sha256);
  } else {
    fields.emplace_back("config_error", started_.error);
  }
  for (auto& f : TrustAnchorFields(anchors_)) fields.push_back(std::move(f));
  return fields;
}

void ConfigTrail::Reload(ReloadReport* report) {
  Reading now = Read();
  if (!now.error.empty()) {
    report->fields.emplace_back("config_error", now.error);
    if (!config_.dev_mode) report->refused.push_back("config");
  } else {
    const std::vector<std::string> keys = ChangedKeys(last_.rendering, now.rendering);
    for (const auto& k : keys) report->changed.push_back("config:" + k);
    report->fields.emplace_back("config_sha256", now.sha256);
    report->fields.emplace_back("config_file_sha256", now.file_sha256);
    report->fields.emplace_back("config_changed", Joined(keys, ","));
    report->fields.emplace_back("config_restart_pending",
                                now.sha256 != started_.sha256 ? "1" : "0");
    last_ = std::move(now);
  }

  TrustAnchors anchors = ReadTrustAnchors(config_);
  if (Contains(report->refused, "tls")) {
    // The listeners kept their CA and CRL: those stay the anchors in force.
    for (const char* kept : {"tls.ca_file", "tls.crl_file"}) {
      if (auto it = anchors_.find(kept); it != anchors_.end()) anchors[kept] = it->second;
    }
  }
  const std::vector<std::string> changed = ChangedKeys(anchors_, anchors);
  for (const auto& a : changed) {
    // The TLS part already names its files when their bytes changed.
    if (!Contains(report->changed, a)) report->changed.push_back(a);
  }
  anchors_ = std::move(anchors);
  for (auto& f : TrustAnchorFields(anchors_)) report->fields.push_back(std::move(f));
  report->fields.emplace_back("anchors_changed", Joined(changed, ","));
}

}  // namespace trailkeep
