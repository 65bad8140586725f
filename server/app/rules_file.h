// The NDcPP rules file of the collector: which one is in force, loading it at
// start-up (an invalid file refuses the start) and on SIGHUP (an invalid file
// keeps the previous rules, recorded as RULES_RELOAD_FAILED).
#pragma once

#include <string>

#include "common/base/status.h"

namespace trailkeep {

struct ServerConfig;
class RulesHolder;
class SelfAudit;

// The rules file in force: configured, or shipped with the binary; "" when
// classification is off ("none", or no shipped rules next to the binary).
std::string RulesPath(const ServerConfig& config);

// Start-up: loads `path` ("" loads nothing) into *rules.
Status LoadRules(const std::string& path, RulesHolder* rules);

// SIGHUP: replaces the rules when the file is valid; keeps them otherwise.
// Either way a collector event says what happened.
void ReloadRules(const std::string& path, RulesHolder* rules, SelfAudit* audit);

}  // namespace trailkeep
