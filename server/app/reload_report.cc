#include "server/app/reload_report.h"

#include "server/selfaudit/self_audit.h"

namespace trailkeep {
std::string Joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

void ReloadReport::Record(SelfAudit* audit) const {
  std::string message = changed.empty()
                            ? "configuration reloaded; nothing changed"
                            : "configuration reloaded; changed: " + Joined(changed, ", ");
  if (!refused.empty()) message += "; refused, previous kept: " + Joined(refused, ", ");
  std::vector<std::pair<std::string, std::string>> all = {{"changed", Joined(changed, ",")},
                                                          {"refused", Joined(refused, ",")}};
  all.insert(all.end(), fields.begin(), fields.end());
  audit->Record(SelfEventKind::kConfigReloaded, "", message, all);
}

}  // namespace trailkeep
