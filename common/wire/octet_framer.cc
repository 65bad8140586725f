#include "common/wire/octet_framer.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

namespace trailkeep {
namespace {

constexpr size_t kMaxCountDigits = 10;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

void OctetFramer::Feed(std::string_view bytes) {
  Compact();
  buf_.append(bytes.data(), bytes.size());
}

void OctetFramer::Compact() {
  if (pos_ == 0) return;
  if (pos_ >= buf_.size()) {
    buf_.clear();
  } else if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
  } else {
    return;
  }
  pos_ = 0;
}

void OctetFramer::Trim() {
  buf_.erase(0, pos_);
  pos_ = 0;
  buf_.shrink_to_fit();
}

std::string_view OctetFramer::Pending() const { return std::string_view(buf_).substr(pos_); }

OctetFramer::Result OctetFramer::Fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  return Result::kError;
}

OctetFramer::Result OctetFramer::Next(std::string_view* frame, Kind* kind) {
  if (failed_) return Result::kError;
  const size_t avail = buf_.size() - pos_;
  if (avail == 0) return Result::kNeedMore;
  const char* p = buf_.data() + pos_;

  // Octet counting: [1-9][0-9]* SP. Anything else is a line.
  if (p[0] >= '1' && p[0] <= '9') {
    size_t i = 1;
    while (i < avail && i <= kMaxCountDigits && IsDigit(p[i])) ++i;
    if (i < avail && p[i] == ' ') {
      if (i > kMaxCountDigits) return Fail("octet count has more than 10 digits");
      uint64_t len = 0;
      for (size_t k = 0; k < i; ++k) len = len * 10 + static_cast<uint64_t>(p[k] - '0');
      if (len > max_frame_) {
        return Fail("octet count " + std::to_string(len) + " exceeds the maximum frame of " +
                    std::to_string(max_frame_) + " bytes");
      }
      if (avail < i + 1 + len) return Result::kNeedMore;
      *frame = std::string_view(p + i + 1, static_cast<size_t>(len));
      *kind = Kind::kOctetCounted;
      pos_ += i + 1 + static_cast<size_t>(len);
      line_scan_ = 0;
      return Result::kFrame;
    }
    if (i > kMaxCountDigits) return Fail("octet count has more than 10 digits");
    if (i == avail) return Result::kNeedMore;  // count not finished
    // Digits followed by something other than SP: a line (e.g. an ISO timestamp).
  } else if (p[0] == '0') {
    // "0 " is a zero count and "0" digits SP a count with a leading zero; both
    // are refused (RFC 6587 MSG-LEN starts with a non-zero digit). The digit run
    // is bounded as for a count: unbounded, a stream of zeros would wait for a
    // SP forever and grow the buffer past the maximum frame without an error.
    size_t i = 1;
    while (i < avail && i <= kMaxCountDigits && IsDigit(p[i])) ++i;
    if (i > kMaxCountDigits) return Fail("octet count has more than 10 digits");
    if (i < avail && p[i] == ' ') {
      return Fail(i == 1 ? "octet count of zero" : "octet count with a leading zero");
    }
    if (i == avail) return Result::kNeedMore;
  }

  // LF-terminated line.
  const void* lf = std::memchr(p + line_scan_, '\n', avail - line_scan_);
  if (lf == nullptr) {
    line_scan_ = avail;
    if (avail > max_frame_) {
      return Fail("line of more than " + std::to_string(max_frame_) + " bytes without LF");
    }
    return Result::kNeedMore;
  }
  size_t len = static_cast<size_t>(static_cast<const char*>(lf) - p);
  if (len > max_frame_) {
    return Fail("line of " + std::to_string(len) + " bytes exceeds the maximum frame of " +
                std::to_string(max_frame_) + " bytes");
  }
  size_t body = len;
  if (body > 0 && p[body - 1] == '\r') --body;
  *frame = std::string_view(p, body);
  *kind = Kind::kLine;
  pos_ += len + 1;
  line_scan_ = 0;
  return Result::kFrame;
}

void AppendOctetCounted(std::string_view message, std::string* out) {
  char count[24];
  const auto r = std::to_chars(count, count + sizeof count, message.size());
  out->append(count, r.ptr);
  out->push_back(' ');
  out->append(message);
}

}  // namespace trailkeep
