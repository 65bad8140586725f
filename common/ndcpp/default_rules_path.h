// Where the rules shipped with the binaries are.
#pragma once

#include <string>

namespace trailkeep::ndcpp {

// <dir of the running executable>/../share/trailkeep/ndcpp_rules.toml (the
// build tree and an installed tree both have that shape). "" when
// /proc/self/exe cannot be read.
std::string DefaultRulesPath();

}  // namespace trailkeep::ndcpp
