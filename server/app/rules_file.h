// The NDcPP rules file of the collector: which one is in force, loading it at
// start-up (an invalid file refuses the start) and on SIGHUP (an invalid file
// keeps the previous rules, recorded as RULES_RELOAD_FAILED). The file is
// read once per load and its SHA-256 is that of the bytes parsed, so the
// digest recorded is the one of the rules in force.
#pragma once

#include <string>

#include "common/base/status.h"

namespace trailkeep {

struct ServerConfig;
struct ReloadReport;
class RulesHolder;
class SelfAudit;

// The rules file in force: configured, or shipped with the binary; "" when
// classification is off ("none", or no shipped rules next to the binary).
std::string RulesPath(const ServerConfig& config);

// Start-up: loads `path` ("" loads nothing) into *rules; *sha256 (optional)
// = the hex SHA-256 of the file loaded ("" when nothing is).
Status LoadRules(const std::string& path, RulesHolder* rules, std::string* sha256 = nullptr);

// SIGHUP: replaces the rules when the file is valid; keeps them otherwise.
// Either way a collector event says what happened, and into *report go
// "ndcpp.rules_file" among `changed` when the rules now in force differ
// from *in_force_sha256 (then updated), "ndcpp" among `refused` when the
// file was invalid, and the field rules_sha256 (the rules in force).
void ReloadRules(const std::string& path, RulesHolder* rules, SelfAudit* audit,
                 ReloadReport* report, std::string* in_force_sha256);

}  // namespace trailkeep
