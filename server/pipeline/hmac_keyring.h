// HmacKeyring: the per-host HMAC keys of keys_dir (common/wire/key_folder.h:
// "<dir>/<host>.key", the current key, and "<dir>/<host>.retired/<id>.key",
// keys retired by `trailkeepd enroll --rotate`; 64 hex digits, mode 0600,
// owned by the user trailkeepd runs as; docs/formats/hmac_chain.md, 'Keys'),
// loaded on first use and cached. A host without a usable key is asked again
// after a short while, so a key installed by `trailkeepd enroll` is picked up
// without a restart; so is a key id an event names that the cache lacks (a
// rotation: at most once a second per host). Why a key is unusable is kept
// word for word: "cannot read keys/web01.key: Permission denied" is not
// "no key".
//
// Authenticate() is the MAC check of the ingest pipeline: it finds which of
// the host's keys the MAC verifies under. Whether that key is in force at
// the event's seq is the ChainVerifier's judgement (common/chain/
// key_schedule.h), made in chain order at commit.
//
// Concurrency: thread-safe (called from every I/O thread).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/base/clock.h"
#include "common/wire/key_folder.h"

namespace trailkeep {

struct ChainFields;
namespace v1 {
class Event;
}

class HmacKeyring {
 public:
  // `dir` may be empty: then no host has a key. `clock` times the re-checks.
  explicit HmacKeyring(std::string dir, ClockPtr clock = MakeSystemClock());

  // The host's current key, or null with *why set (missing, unreadable, bad
  // mode, bad content).
  std::shared_ptr<const std::string> Get(const std::string& host, std::string* why = nullptr);
  // Every key of the host, the current one first (null: none at all, *why
  // says why).
  std::shared_ptr<const HostKeys> Keys(const std::string& host, std::string* why = nullptr);

  // Checks the MAC of a chained event whose host is set and whose element
  // `f` is well formed, and sets its integrity and chain_key_id:
  //  - the event names a key (tkkey): VERIFIED under that key, BAD_MAC, or
  //    NO_KEY when the host has no key of that id (chain_key_id = the id);
  //  - otherwise: VERIFIED under the first of the host's keys that verifies
  //    it (the current one is tried first), BAD_MAC when none does, NO_KEY
  //    when the host has no key.
  void Authenticate(const ChainFields& f, v1::Event* e);

  // Forgets every cached key (SIGHUP): each is read and checked again on its
  // next use, so a replaced or loosened key file is noticed.
  void Forget();

 private:
  struct Entry {
    std::shared_ptr<const HostKeys> keys;  // null when the host has none
    std::string why;
    Clock::SteadyTime checked;
  };
  // The cached entry, (re)loaded when missing, stale, or when `want_id` is
  // not among its keys and the last load is older than a second.
  Entry Lookup(const std::string& host, const std::string& want_id);
  Entry Load(const std::string& host) const;

  const std::string dir_;
  const ClockPtr clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;  // GUARDED_BY(mu_)
};

// True when `host` can name a key file: a DNS-style name, no path parts.
bool IsKeyFileName(const std::string& host);

}  // namespace trailkeep
