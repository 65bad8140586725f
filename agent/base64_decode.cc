#include "agent/base64_decode.h"

#include <array>
#include <cstdint>

namespace trailkeep::agent {
namespace {

constexpr std::array<int8_t, 256> MakeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}

constexpr std::array<int8_t, 256> kTable = MakeTable();

}  // namespace

bool Base64Decode(std::string_view text, std::string* out) {
  out->clear();
  if (text.size() % 4 != 0) return false;
  out->reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    uint32_t group = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int8_t v = kTable[static_cast<unsigned char>(text[i + k])];
      if (k >= 4 - static_cast<size_t>(pad)) {
        group <<= 6;
        continue;
      }
      if (v < 0) return false;
      group = group << 6 | static_cast<uint32_t>(v);
    }
    out->push_back(static_cast<char>(group >> 16));
    if (pad < 2) out->push_back(static_cast<char>(group >> 8 & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(group & 0xff));
  }
  return true;
}

}  // namespace trailkeep::agent
