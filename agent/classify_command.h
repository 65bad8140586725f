// `trailkeep classify`: classifies log lines offline with the NDcPP rules
// and prints one event per line (event JSON, docs/event-schema.md, or the
// text form). Each input line is one event, except consecutive auditd
// records sharing a (node, serial), which form one event with the
// collector's grouping and interpretation (common/audit/audit_event.h).
#pragma once

#include <string>

#include "common/base/clock.h"

namespace trailkeep::agent {

struct ClassifyOptions {
  std::string file;        // "" or "-": stdin
  std::string rules_path;  // "": ndcpp::DefaultRulesPath()
  std::string format = "json";
  // Inventory JSON ({"users":{...},"groups":{...}}, what agents send) used
  // to name ids in audit records; "": ids stay numbers, marked unresolved.
  std::string identity_file;
  ClockPtr clock = MakeSystemClock();  // the events' receive times
};

// Exit code: 0, 1 when the input cannot be read, 2 for bad rules or identity.
int RunClassify(const ClassifyOptions& options);

}  // namespace trailkeep::agent
