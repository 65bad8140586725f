#include "common/base/sha256.h"

#include <fstream>
#include <sstream>

#include <openssl/evp.h>

#include "common/base/bytes.h"

namespace trailkeep {

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  return LowerHex(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string FileSha256Hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return "";
  return Sha256Hex(bytes.str());
}

}  // namespace trailkeep
