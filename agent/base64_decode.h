// Base64 decoding (RFC 4648, standard alphabet, with padding) for the
// export verifier: common/base/bytes.h only encodes.
#pragma once

#include <string>
#include <string_view>

namespace trailkeep::agent {

// Decodes `text` into *out. False on a character outside the alphabet, a bad
// length or misplaced padding (*out is then unspecified).
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace trailkeep::agent
