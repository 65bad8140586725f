#include "server/app/rules_file.h"

#include <filesystem>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/ndcpp/rules.h"
#include "server/app/config.h"
#include "server/pipeline/rules_holder.h"
#include "server/selfaudit/self_audit.h"

namespace trailkeep {

std::string RulesPath(const ServerConfig& config) {
  if (config.rules_file == "none") return "";
  if (!config.rules_file.empty()) return config.rules_file;
  std::string path = ndcpp::DefaultRulesPath();
  if (path.empty() || !std::filesystem::exists(path)) {
    spdlog::warn("no NDcPP rules next to the binary ({}): events are not classified", path);
    return "";
  }
  return std::filesystem::weakly_canonical(path).string();
}

Status LoadRules(const std::string& path, RulesHolder* rules) {
  if (path.empty()) return Status::Ok();
  auto loaded = ndcpp::RuleSet::LoadFile(path);
  if (!loaded.ok()) return loaded.status();
  rules->Set(std::move(loaded).value());
  spdlog::info("NDcPP rules from {}", path);
  return Status::Ok();
}

void ReloadRules(const std::string& path, RulesHolder* rules, SelfAudit* audit) {
  if (path.empty()) return;
  std::vector<std::string> errors;
  auto loaded = ndcpp::RuleSet::LoadFile(path, &errors);
  if (!loaded.ok()) {
    std::string joined;
    for (const auto& e : errors) joined += (joined.empty() ? "" : "; ") + e;
    if (joined.empty()) joined = loaded.status().ToString();
    audit->Record(SelfEventKind::kRulesReloadFailed, "",
                  "NDcPP rules not reloaded, the previous rules stay in force: " + joined,
                  {{"rules_file", path}});
    return;
  }
  const size_t n = loaded.value()->rules().size();
  rules->Set(std::move(loaded).value());
  audit->Record(SelfEventKind::kRulesReloaded, "",
                "NDcPP rules reloaded: " + std::to_string(n) + " rules", {{"rules_file", path}});
}

}  // namespace trailkeep
