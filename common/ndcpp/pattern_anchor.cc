#include "common/ndcpp/pattern_anchor.h"

#include <cstddef>
#include <vector>

namespace trailkeep::ndcpp {
namespace {

// Does the alternative starting at `at` begin with '^' (after flag groups
// like "(?i)", which consume nothing)? 'm' would make '^' match after any LF.
bool AlternativeAnchored(std::string_view p, size_t at) {
  while (p.substr(at, 2) == "(?") {
    const size_t close = p.find(')', at);
    if (close == std::string_view::npos) return false;
    const std::string_view flags = p.substr(at + 2, close - at - 2);
    // "(?i)" is a flag group; "(?i:" or "(?P<" open a real group.
    if (flags.find_first_of(":<") != std::string_view::npos) return false;
    if (flags.find('m') != std::string_view::npos) return false;
    at = close + 1;
  }
  return at < p.size() && p[at] == '^';
}

// Offsets where top-level alternatives start; empty when unbalanced.
std::vector<size_t> TopLevelAlternatives(std::string_view p) {
  std::vector<size_t> starts = {0};
  int depth = 0;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      ++i;  // the escaped character is a literal
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
      if (i + 1 < p.size() && p[i + 1] == ']') ++i;  // "[]...]": ']' first is literal
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) return {};
    } else if (c == '|' && depth == 0) {
      starts.push_back(i + 1);
    }
  }
  if (depth != 0 || in_class) return {};
  return starts;
}

}  // namespace

bool MatchesOnlyAtStart(std::string_view pattern) {
  const std::vector<size_t> starts = TopLevelAlternatives(pattern);
  if (starts.empty()) return false;
  for (size_t at : starts) {
    if (!AlternativeAnchored(pattern, at)) return false;
  }
  return true;
}

}  // namespace trailkeep::ndcpp
