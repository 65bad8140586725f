// How the rules compile their RE2 patterns (validation, the index, the
// sd and audit conditions alike): errors are reported, never logged.
#pragma once

#include <re2/re2.h>

namespace trailkeep::ndcpp {

inline RE2::Options RulePatternOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  return o;
}

}  // namespace trailkeep::ndcpp
