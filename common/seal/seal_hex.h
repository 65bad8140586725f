// Lower-case hex, as the seal's files and findings write keys and MACs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace trailkeep {

std::string LowerHexOf(std::string_view bytes);
// Nothing on an odd length or a character that is not a hex digit.
std::optional<std::string> FromLowerHex(std::string_view hex);

}  // namespace trailkeep
