// UTF-8 checks for text that came from outside and must be stored or shown
// as text. Protobuf refuses to parse a `string` field that is not valid
// UTF-8, so one stray byte in a stored string field would make its whole
// record unreadable; callers escape instead of storing such bytes.
//
// Valid means RFC 3629: shortest form only, no surrogates (U+D800-DFFF),
// nothing above U+10FFFF. NUL is valid.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace trailkeep {

bool IsValidUtf8(std::string_view text);

// `text` with every byte that is not part of a valid UTF-8 sequence written
// as the four characters "\xHH" (upper-case hex); valid text is returned
// unchanged. The exact bytes, where they matter, are kept elsewhere (an
// event's `raw`), so the escape favours readability over reversibility.
std::string EscapeInvalidUtf8(std::string_view text);

// The UTF-8 sequence at the start of `text` (not empty): its length and
// whether it is valid. An invalid one spans what a decoder reading on would
// give up on: a bad lead byte alone; a sequence broken by a later byte up to
// that byte, exclusive (it starts the next step); one cut by the end of
// `text` to the end. A JSON writer replaces each invalid span with one U+FFFD.
struct Utf8Sequence {
  size_t length;
  bool valid;
};
Utf8Sequence NextUtf8Sequence(std::string_view text);

}  // namespace trailkeep
