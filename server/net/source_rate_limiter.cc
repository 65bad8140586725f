#include "server/net/source_rate_limiter.h"

#include <algorithm>

namespace trailkeep {

SourceRateLimiter::SourceRateLimiter(double rate, double burst, size_t max_sources)
    : rate_(rate), burst_(std::max(1.0, burst)), max_sources_(std::max<size_t>(1, max_sources)) {
  shared_.tokens = burst_;
}

bool SourceRateLimiter::Take(Bucket* b, int64_t now_us) {
  if (now_us > b->at_us) {
    b->tokens = std::min(burst_, b->tokens + rate_ * static_cast<double>(now_us - b->at_us) / 1e6);
    b->at_us = now_us;
  }
  if (b->tokens < 1) return false;
  b->tokens -= 1;
  return true;
}

bool SourceRateLimiter::Admit(std::string_view address, int64_t now_us) {
  if (unlimited()) return true;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(address));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_sources_) {
      // Forget the quiet: a bucket refilled to the brim holds nothing worth keeping.
      std::erase_if(buckets_, [&](const auto& kv) {
        const Bucket& b = kv.second;
        return b.tokens + rate_ * static_cast<double>(now_us - b.at_us) / 1e6 >= burst_;
      });
    }
    if (buckets_.size() >= max_sources_) return Take(&shared_, now_us);
    it = buckets_.emplace(std::string(address), Bucket{burst_, now_us}).first;
  }
  return Take(&it->second, now_us);
}

int64_t SourceRateLimiter::RetryAfterMicros() const {
  if (unlimited()) return 0;
  return std::max<int64_t>(1000, static_cast<int64_t>(1e6 / rate_));
}

}  // namespace trailkeep
