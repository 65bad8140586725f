// SourceRateLimiter: messages per second per sender address, for the
// plaintext listeners (UDP and TCP syslog), one token bucket per address.
// Admit() takes one token or says no: the UDP listener then drops and counts
// the datagram (UDP cannot push back), a TCP session stops reading until
// RetryAfterMicros() has passed (back-pressure through TCP).
//
// At most max_sources buckets are kept; when full, buckets that are full
// again (quiet sources) are forgotten, and if none is, the addresses without
// a bucket share one, so a flood from spoofed addresses cannot grow memory
// nor take the buckets of the senders already known. rate 0: no limit.
//
// Concurrency: thread-safe (one mutex; every listener shares one limiter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace trailkeep {

class SourceRateLimiter {
 public:
  // `rate`: messages per second per address (0: unlimited); `burst`: the
  // bucket's size (at least 1).
  SourceRateLimiter(double rate, double burst, size_t max_sources = 65'536);

  // One message from `address` (its IP, without port) at `now_us`.
  bool Admit(std::string_view address, int64_t now_us);
  // How long until `address` has a token again (>= 1 ms when limited).
  int64_t RetryAfterMicros() const;
  bool unlimited() const { return rate_ <= 0; }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_us = 0;
  };
  bool Take(Bucket* b, int64_t now_us);

  const double rate_;
  const double burst_;
  const size_t max_sources_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
  Bucket shared_;                                    // GUARDED_BY(mu_): addresses over max_sources
};

}  // namespace trailkeep
