// HmacKeyring: the per-host HMAC keys of keys_dir ("<dir>/<host>.key", 64 hex
// digits, mode 0600; design.md section 7), loaded on first use and cached.
// A host without a usable key is asked again after a short while, so a key
// installed by `trailkeepd enroll` is picked up without a restart.
//
// Concurrency: thread-safe (called from every I/O thread).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace trailkeep {

class HmacKeyring {
 public:
  // `dir` may be empty: then no host has a key.
  explicit HmacKeyring(std::string dir);

  // The host's key, or null with *why set (missing, bad mode, bad content).
  std::shared_ptr<const std::string> Get(const std::string& host, std::string* why = nullptr);

 private:
  struct Entry {
    std::shared_ptr<const std::string> key;
    std::string why;
    std::chrono::steady_clock::time_point checked;
  };
  const std::string dir_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;  // GUARDED_BY(mu_)
};

// True when `host` can name a key file: a DNS-style name, no path parts.
bool IsKeyFileName(const std::string& host);

}  // namespace trailkeep
