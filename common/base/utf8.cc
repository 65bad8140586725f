#include "common/base/utf8.h"

#include <cstdint>
#include <cstring>

namespace trailkeep {
namespace {

// Length of the valid UTF-8 sequence at the start of `s`, 0 when the first
// byte does not start one.
size_t ValidSequenceLength(std::string_view s) {
  const Utf8Sequence q = NextUtf8Sequence(s);
  return q.valid ? q.length : 0;
}

// Index of the first byte with the high bit set, or s.size(): most text is
// ASCII, and this keeps the common case to a word-at-a-time scan.
size_t FirstNonAscii(std::string_view s) {
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    if (word & 0x8080808080808080ULL) break;
  }
  while (i < s.size() && static_cast<uint8_t>(s[i]) < 0x80) ++i;
  return i;
}

}  // namespace

// Bounds follow RFC 3629's table of well-formed byte sequences (its section 4).
Utf8Sequence NextUtf8Sequence(std::string_view s) {
  const auto lead = static_cast<uint8_t>(s[0]);
  if (lead < 0x80) return {1, true};
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) lo = 0x90;  // no overlong forms
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false};
  }
  for (size_t k = 1; k <= need; ++k) {
    if (k >= s.size()) return {s.size(), false};
    const auto c = static_cast<uint8_t>(s[k]);
    if (c < lo || c > hi) return {k, false};
    lo = 0x80;
    hi = 0xBF;
  }
  return {need + 1, true};
}

bool IsValidUtf8(std::string_view text) {
  size_t i = FirstNonAscii(text);
  while (i < text.size()) {
    const size_t n = ValidSequenceLength(text.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string EscapeInvalidUtf8(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + 8);
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = ValidSequenceLength(text.substr(i));
    if (n > 0) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    const auto c = static_cast<uint8_t>(text[i++]);
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

}  // namespace trailkeep
