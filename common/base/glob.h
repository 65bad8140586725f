// Shell-style host patterns: '*' any run, '?' one character, "[...]" a set.
// Matching is case-insensitive, as host names are.
#pragma once

#include <string_view>

namespace trailkeep {

bool GlobMatch(std::string_view pattern, std::string_view text);
// True when the pattern has no wildcard characters (it names one host).
bool IsLiteralPattern(std::string_view pattern);

}  // namespace trailkeep
