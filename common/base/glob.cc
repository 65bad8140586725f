#include "common/base/glob.h"

#include <string>

#include <fnmatch.h>

namespace trailkeep {

bool GlobMatch(std::string_view pattern, std::string_view text) {
  const std::string p(pattern), t(text);
  return fnmatch(p.c_str(), t.c_str(), FNM_CASEFOLD) == 0;
}

bool IsLiteralPattern(std::string_view pattern) {
  return pattern.find_first_of("*?[\\") == std::string_view::npos;
}

}  // namespace trailkeep
