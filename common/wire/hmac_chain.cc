#include "common/wire/hmac_chain.h"

#include <charconv>

#include <fcntl.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include "common/base/hmac_sha256.h"
#include "common/base/private_file.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr std::string_view kEmptyMac = "m=\"\"";

bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

const v1::SdParam* Param(const v1::SdElement& el, std::string_view name) {
  for (const auto& p : el.params()) {
    if (p.name() == name) return &p;
  }
  return nullptr;
}

}  // namespace

std::string ChainSdId(uint32_t enterprise_number) {
  return "tk@" + std::to_string(enterprise_number);
}
std::string HeartbeatSdId(uint32_t enterprise_number) {
  return "tkhb@" + std::to_string(enterprise_number);
}

std::string KeySdId(uint32_t enterprise_number) {
  return "tkkey@" + std::to_string(enterprise_number);
}

std::string KeyId(std::string_view key) {
  return LowerHex(HmacSha256(key, "trailkeep key id").substr(0, kKeyIdBytes));
}

bool IsKeyId(std::string_view text) {
  std::string ignored;
  return text.size() == 2 * kKeyIdBytes && ParseLowerHex(text, &ignored);
}

std::string FormatKeyElement(uint32_t enterprise_number, std::string_view key_id) {
  return "[" + KeySdId(enterprise_number) + " id=\"" + std::string(key_id) + "\"]";
}

std::string FormatChainElement(uint32_t enterprise_number, uint64_t epoch, uint64_t seq,
                               std::string_view prev_mac) {
  return "[" + ChainSdId(enterprise_number) + " e=\"" + std::to_string(epoch) + "\" s=\"" +
         std::to_string(seq) + "\" p=\"" + LowerHex(prev_mac) + "\" m=\"\"]";
}

std::string FormatHeartbeatElement(uint32_t enterprise_number, uint64_t epoch, uint64_t head_seq,
                                   std::string_view head_mac) {
  return "[" + HeartbeatSdId(enterprise_number) + " e=\"" + std::to_string(epoch) + "\" s=\"" +
         std::to_string(head_seq) + "\" h=\"" + LowerHex(head_mac) + "\" m=\"\"]";
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string SignMessage(std::string_view key, std::string_view unsigned_message, std::string* mac) {
  *mac = HmacSha256(key, unsigned_message);
  const size_t at = unsigned_message.find(kEmptyMac);
  std::string out;
  out.reserve(unsigned_message.size() + 2 * kMacBytes);
  out.append(unsigned_message.substr(0, at + 3));
  out.append(LowerHex(*mac));
  out.append(unsigned_message.substr(at + 3));
  return out;
}

ChainFields ExtractChain(const v1::Event& event, uint32_t enterprise_number) {
  ChainFields f;
  const std::string chain_id = ChainSdId(enterprise_number);
  const std::string hb_id = HeartbeatSdId(enterprise_number);
  const std::string key_sd_id = KeySdId(enterprise_number);
  const v1::SdElement* key_el = nullptr;
  for (const auto& el : event.structured_data()) {
    if (el.id() == key_sd_id) key_el = &el;
  }
  for (const auto& el : event.structured_data()) {
    const bool is_chain = el.id() == chain_id;
    if (!is_chain && el.id() != hb_id) continue;
    f.kind = is_chain ? ChainKind::kEvent : ChainKind::kHeartbeat;
    const v1::SdParam* e = Param(el, "e");
    const v1::SdParam* s = Param(el, "s");
    const v1::SdParam* p = Param(el, is_chain ? "p" : "h");
    const v1::SdParam* m = Param(el, "m");
    if (e == nullptr || s == nullptr || p == nullptr || m == nullptr) {
      f.error = el.id() + " lacks one of its parameters";
    } else if (!ParseU64(e->value(), &f.link.epoch) || f.link.epoch == 0) {
      f.error = el.id() + " has a bad epoch";
    } else if (!ParseU64(s->value(), &f.link.seq) || (is_chain && f.link.seq == 0)) {
      f.error = el.id() + " has a bad sequence number";
    } else if (p->value().size() != 2 * kMacBytes || !ParseLowerHex(p->value(), &f.link.prev_mac)) {
      f.error = el.id() + " has a malformed previous/head MAC";
    } else if (m->value().size() != 2 * kMacBytes || !ParseLowerHex(m->value(), &f.link.mac)) {
      f.error = el.id() + " has a malformed MAC";
    } else if (key_el != nullptr && is_chain) {
      const v1::SdParam* id = Param(*key_el, "id");
      if (id == nullptr || !IsKeyId(id->value())) {
        f.error = key_sd_id + " has a malformed key id";
      } else {
        f.key_id = id->value();
      }
    }
    return f;
  }
  return f;
}

ChainFields ApplyChainElement(uint32_t enterprise_number, v1::Event* e) {
  e->set_enterprise_number(enterprise_number);
  ChainFields f = ExtractChain(*e, enterprise_number);
  if (f.kind == ChainKind::kNone) return f;
  e->set_chain_epoch(f.link.epoch);
  e->set_chain_seq(f.link.seq);
  e->set_chain_prev_mac(f.link.prev_mac);
  e->set_chain_mac(f.link.mac);
  e->set_chain_heartbeat(f.kind == ChainKind::kHeartbeat);
  if (!f.error.empty()) {
    e->set_parse_error(e->parse_error().empty() ? f.error : e->parse_error() + "; " + f.error);
  }
  return f;
}

namespace {

// `raw` with the hex of m's value removed, as it was signed; false when m's
// value is not `fields.link.mac`.
bool BlankedMessage(std::string_view raw, const ChainFields& fields, std::string* blanked) {
  if (fields.kind == ChainKind::kNone || !fields.error.empty()) return false;
  // m is the element's last parameter: find `m="<hex>"]` and blank the hex.
  const std::string needle = "m=\"" + LowerHex(fields.link.mac) + "\"]";
  const size_t at = raw.find(needle);
  if (at == std::string_view::npos) return false;
  blanked->reserve(raw.size());
  blanked->append(raw.substr(0, at + 3));
  blanked->append(raw.substr(at + 3 + 2 * kMacBytes));
  return true;
}

bool SameMac(std::string_view expect, const ChainFields& fields) {
  return expect.size() == kMacBytes &&
         CRYPTO_memcmp(expect.data(), fields.link.mac.data(), kMacBytes) == 0;
}

}  // namespace

bool VerifyMessageMac(std::string_view key, std::string_view raw, const ChainFields& fields) {
  std::string blanked;
  return BlankedMessage(raw, fields, &blanked) && SameMac(HmacSha256(key, blanked), fields);
}

bool VerifyMessageMac(const HmacSha256Key& key, std::string_view raw, const ChainFields& fields) {
  std::string blanked;
  return BlankedMessage(raw, fields, &blanked) && SameMac(key.Mac(blanked), fields);
}

Result<std::string> LoadHmacKey(const std::string& path, bool require_private) {
  auto read = ReadPrivateFile(path, require_private);
  if (!read.ok()) {
    // "does not exist" only when it does not: an unreadable key says why.
    if (read.status().code() == Status::Code::kNotFound) {
      return Status::NotFound("no HMAC key: " + read.status().message());
    }
    return read.status();
  }
  std::string text = std::move(read).value();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string key;
  if (text.size() != 2 * kHmacKeyBytes || !ParseLowerHex(text, &key)) {
    return Status::InvalidArgument("HMAC key file " + path +
                                   " must hold 64 lower-case hex digits (32 bytes)");
  }
  return key;
}

Status WriteNewHmacKey(const std::string& path) {
  unsigned char key[kHmacKeyBytes];
  if (RAND_bytes(key, sizeof key) != 1) return Status::IoError("no randomness for an HMAC key");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create key file " + path + ": " + strerror(errno));
  const std::string text =
      LowerHex(std::string_view(reinterpret_cast<const char*>(key), sizeof key)) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status::IoError("cannot write key file " + path);
  return Status::Ok();
}

}  // namespace trailkeep
