#include "common/wire/audit_remote_frame.h"

#include <cstring>

namespace trailkeep::auditremote {
namespace {

uint32_t Le32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

void PutLe32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

constexpr unsigned char kMagicBytes[4] = {0xFE, 0x00, 0x00, 0xFF};

}  // namespace

Header DecodeHeader(const unsigned char* p) {
  Header h;
  h.magic = Le32(p);
  h.header_version = p[4];
  h.message_version = p[5];
  h.type = Le32(p + 6);
  h.length = static_cast<uint16_t>(p[10] | p[11] << 8);
  h.seq = Le32(p + 12);
  return h;
}

std::string EncodeFrame(uint32_t type, uint32_t seq, std::string_view payload) {
  const size_t n = payload.size() > 0xFFFF ? 0xFFFF : payload.size();
  std::string out;
  out.reserve(kHeaderBytes + n);
  PutLe32(kMagic, &out);
  out.push_back(0);  // header version
  out.push_back(0);  // message version
  PutLe32(type, &out);
  out.push_back(static_cast<char>(n & 0xFF));
  out.push_back(static_cast<char>(n >> 8));
  PutLe32(seq, &out);
  out.append(payload.substr(0, n));
  return out;
}

bool AuditRemoteDecoder::Next(Item* item) {
  if (failed_) return false;
  const size_t have = buffered();
  if (have == 0) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + start_);
  // The framing is decided per message by its first four bytes; a prefix of
  // the magic waits for more (auditd misreads a header split there).
  const size_t probe = have < 4 ? have : 4;
  if (std::memcmp(p, kMagicBytes, probe) == 0) {
    if (have < 4) return false;
    return NextManaged(item);
  }
  return NextLine(item);
}

bool AuditRemoteDecoder::NextManaged(Item* item) {
  if (buffered() < kHeaderBytes) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + start_);
  const Header h = DecodeHeader(p);
  if (h.header_version != 0) {
    return Fail(item, "unsupported header version " + std::to_string(h.header_version));
  }
  if (h.length > max_payload_) {
    return Fail(item, "payload of " + std::to_string(h.length) + " bytes exceeds the limit of " +
                          std::to_string(max_payload_));
  }
  if (buffered() < kHeaderBytes + h.length) return false;
  item->kind = Item::Kind::kManaged;
  item->header = h;
  item->payload.assign(buffer_, start_ + kHeaderBytes, h.length);
  item->error.clear();
  Consume(kHeaderBytes + h.length);
  return true;
}

bool AuditRemoteDecoder::NextLine(Item* item) {
  const size_t lf = buffer_.find('\n', start_);
  if (lf == std::string::npos) {
    if (buffered() > max_payload_) {
      return Fail(item, "ASCII line longer than " + std::to_string(max_payload_) + " bytes");
    }
    return false;
  }
  if (lf - start_ > max_payload_) {
    return Fail(item, "ASCII line longer than " + std::to_string(max_payload_) + " bytes");
  }
  item->kind = Item::Kind::kAsciiLine;
  item->header = Header{};
  item->payload.assign(buffer_, start_, lf - start_);
  item->error.clear();
  Consume(lf - start_ + 1);
  return true;
}

bool AuditRemoteDecoder::Fail(Item* item, std::string why) {
  failed_ = true;
  item->kind = Item::Kind::kError;
  item->payload.clear();
  item->error = std::move(why);
  return true;
}

void AuditRemoteDecoder::Consume(size_t n) {
  start_ += n;
  // Compact once the consumed prefix dominates, so the buffer stays small.
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ > 64 * 1024 && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
}

}  // namespace trailkeep::auditremote
