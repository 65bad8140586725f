// MatchesOnlyAtStart: whether an RE2 pattern can match only at the start of
// the text, because every top-level alternative begins with '^' (optionally
// after a flags group such as "(?i)"). Such patterns go into an RE2::Set
// anchored at the start, whose scan stops as soon as no pattern can match
// any more, instead of reading the whole message (rules.cc).
//
// Conservative: anything it does not understand (a multi-line flag 'm',
// an unbalanced group) counts as "not only at start".
#pragma once

#include <string_view>

namespace trailkeep::ndcpp {

bool MatchesOnlyAtStart(std::string_view pattern);

}  // namespace trailkeep::ndcpp
