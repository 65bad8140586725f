// HmacKeyring: the per-host HMAC keys of keys_dir ("<dir>/<host>.key", 64 hex
// digits, mode 0600, owned by the user trailkeepd runs as; docs/formats/
// hmac_chain.md, 'Keys'), loaded on first use and cached. A host without a
// usable key is asked again after a short while, so a key installed by
// `trailkeepd enroll` is picked up without a restart. Why a key is unusable
// is kept word for word: "cannot read keys/web01.key: Permission denied" is
// not "no key".
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

  // The host's key, or null with *why set (missing, unreadable, bad mode,
  // bad content).
  std::shared_ptr<const std::string> Get(const std::string& host, std::string* why = nullptr);
  // Forgets every cached key (SIGHUP): each is read and checked again on its
  // next use, so a replaced or loosened key file is noticed.
  void Forget();

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
