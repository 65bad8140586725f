#include "common/event/json_writer.h"

#include <array>
#include <charconv>

namespace trailkeep {
namespace {

struct Utf8Step {
  size_t length;  // bytes consumed
  bool valid;     // false: the consumed bytes become one U+FFFD
};

// The sequence starting at s[i] (a byte >= 0x80), by Unicode's table of
// well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
// An invalid lead byte is consumed alone; a sequence broken by byte k is
// consumed up to k, exclusive (k is read again, as nlohmann does); a sequence
// cut by the end of the string is consumed to the end.
Utf8Step Utf8At(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return {1, false};
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return {s.size() - i, false};
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (c < lo || c > hi) return {k, false};
    lo = 0x80;
    hi = 0xBF;
  }
  return {need + 1, true};
}

// The escape of an ASCII byte that needs one (< 0x20, '"', '\').
void AppendEscape(unsigned char c, std::string* out) {
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\t':
      out->append("\\t");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\r':
      out->append("\\r");
      return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(u, sizeof u);
    }
  }
}

// Bytes that end a run of bytes copied as they are: < 0x20, '"', '\\' and
// every non-ASCII byte (decoded to check it is well-formed).
constexpr auto kStopsRun = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return t;
}();

template <typename T>
void AppendNumber(T v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet appended, which need no escape
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!kStopsRun[c]) {
      ++i;
      continue;
    }
    if (c < 0x80) {
      out->append(s.data() + run, i - run);
      AppendEscape(c, out);
      run = ++i;
      continue;
    }
    const Utf8Step step = Utf8At(s, i);
    if (step.valid) {
      i += step.length;  // stays in the run
      continue;
    }
    out->append(s.data() + run, i - run);
    out->append("\xEF\xBF\xBD");
    run = i += step.length;
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void JsonWriter::Key(std::string_view key) {
  Separate();
  out_->push_back('"');
  out_->append(key);
  out_->append("\":");
  need_comma_ = false;
}

void JsonWriter::String(std::string_view s) {
  Separate();
  AppendJsonString(s, out_);
}

void JsonWriter::Uint(uint64_t v) {
  Separate();
  AppendNumber(v, out_);
}

void JsonWriter::Int(int64_t v) {
  Separate();
  AppendNumber(v, out_);
}

void JsonWriter::Bool(bool v) {
  Separate();
  out_->append(v ? "true" : "false");
}

void JsonWriter::Null() {
  Separate();
  out_->append("null");
}

}  // namespace trailkeep
