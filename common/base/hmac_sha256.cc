#include "common/base/hmac_sha256.h"

#include <openssl/evp.h>

namespace trailkeep {
namespace {

constexpr size_t kBlockBytes = 64;  // SHA-256's block

struct MdFree {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdPtr = std::unique_ptr<EVP_MD, MdFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// A digest context that has absorbed the key padded to a block and XORed
// with `pad` (0x36 inner, 0x5c outer).
MdCtxPtr PaddedKeyState(const EVP_MD* md, const unsigned char* block, unsigned char pad) {
  unsigned char padded[kBlockBytes];
  for (size_t i = 0; i < kBlockBytes; ++i) padded[i] = block[i] ^ pad;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), padded, sizeof padded) != 1) {
    ctx.reset();
  }
  OPENSSL_cleanse(padded, sizeof padded);
  return ctx;
}

}  // namespace

struct HmacSha256Key::State {
  MdPtr md;
  MdCtxPtr inner;
  MdCtxPtr outer;
};

HmacSha256Key::HmacSha256Key(std::string_view key) {
  auto s = std::make_unique<State>();
  s->md.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!s->md) return;
  unsigned char block[kBlockBytes] = {};
  if (key.size() > kBlockBytes) {
    unsigned int n = 0;
    if (EVP_Digest(key.data(), key.size(), block, &n, s->md.get(), nullptr) != 1) return;
  } else {
    for (size_t i = 0; i < key.size(); ++i) block[i] = static_cast<unsigned char>(key[i]);
  }
  s->inner = PaddedKeyState(s->md.get(), block, 0x36);
  s->outer = PaddedKeyState(s->md.get(), block, 0x5c);
  OPENSSL_cleanse(block, sizeof block);
  if (s->inner && s->outer) state_ = std::move(s);
}

HmacSha256Key::~HmacSha256Key() = default;
HmacSha256Key::HmacSha256Key(HmacSha256Key&&) noexcept = default;
HmacSha256Key& HmacSha256Key::operator=(HmacSha256Key&&) noexcept = default;

bool HmacSha256Key::Mac(std::string_view data, MacBytes* out) const {
  if (!state_) return false;
  const MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_MD_CTX* c = ctx.get();
  unsigned char inner_hash[kMacBytes];
  unsigned int n = 0;
  return c != nullptr && EVP_MD_CTX_copy_ex(c, state_->inner.get()) == 1 &&
         EVP_DigestUpdate(c, data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(c, inner_hash, &n) == 1 &&
         EVP_MD_CTX_copy_ex(c, state_->outer.get()) == 1 &&
         EVP_DigestUpdate(c, inner_hash, sizeof inner_hash) == 1 &&
         EVP_DigestFinal_ex(c, out->data(), &n) == 1;
}

std::string HmacSha256Key::Mac(std::string_view data) const {
  MacBytes mac;
  if (!Mac(data, &mac)) return "";
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

}  // namespace trailkeep
