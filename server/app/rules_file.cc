#include "server/app/rules_file.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/base/sha256.h"
#include "common/ndcpp/default_rules_path.h"
#include "common/ndcpp/rules.h"
#include "server/app/config.h"
#include "server/app/reload_report.h"
#include "server/pipeline/rules_holder.h"
#include "server/selfaudit/self_audit.h"

namespace trailkeep {
namespace {

// Reads the file once and parses those bytes: *sha256 is of what was parsed.
Result<std::shared_ptr<const ndcpp::RuleSet>> ReadRules(const std::string& path,
                                                        std::string* sha256,
                                                        std::vector<std::string>* errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ndcpp::RuleSet::LoadFile(path, errors);  // fails too, saying why
  std::ostringstream text;
  text << in.rdbuf();
  *sha256 = Sha256Hex(text.str());
  return ndcpp::RuleSet::LoadString(text.str(), path, errors);
}

}  // namespace

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

Status LoadRules(const std::string& path, RulesHolder* rules, std::string* sha256) {
  if (path.empty()) return Status::Ok();
  std::string digest;
  auto loaded = ReadRules(path, &digest, nullptr);
  if (!loaded.ok()) return loaded.status();
  rules->Set(std::move(loaded).value());
  if (sha256 != nullptr) *sha256 = digest;
  spdlog::info("NDcPP rules from {} (sha256 {})", path, digest);
  return Status::Ok();
}

void ReloadRules(const std::string& path, RulesHolder* rules, SelfAudit* audit,
                 ReloadReport* report, std::string* in_force_sha256) {
  if (path.empty()) return;
  std::vector<std::string> errors;
  std::string digest;
  auto loaded = ReadRules(path, &digest, &errors);
  if (!loaded.ok()) {
    std::string joined;
    for (const auto& e : errors) joined += (joined.empty() ? "" : "; ") + e;
    if (joined.empty()) joined = loaded.status().ToString();
    audit->Record(SelfEventKind::kRulesReloadFailed, "",
                  "NDcPP rules not reloaded, the previous rules stay in force: " + joined,
                  {{"rules_file", path}, {"rules_file_sha256", digest}});
    report->refused.push_back("ndcpp");
  } else {
    const size_t n = loaded.value()->rules().size();
    rules->Set(std::move(loaded).value());
    audit->Record(SelfEventKind::kRulesReloaded, "",
                  "NDcPP rules reloaded: " + std::to_string(n) + " rules",
                  {{"rules_file", path}, {"rules_sha256", digest}});
    if (digest != *in_force_sha256) report->changed.push_back("ndcpp.rules_file");
    *in_force_sha256 = digest;
  }
  report->fields.emplace_back("rules_sha256", *in_force_sha256);
}

}  // namespace trailkeep
