#include "server/pipeline/hmac_keyring.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/wire/hmac_chain.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr auto kRecheckMissing = std::chrono::seconds(5);
constexpr auto kRecheckUnknownId = std::chrono::seconds(1);

bool HasKey(const HostKeys* keys, const std::string& id) {
  return keys != nullptr && std::any_of(keys->keys.begin(), keys->keys.end(),
                                        [&](const HostKey& k) { return k.id == id; });
}

}  // namespace

bool IsKeyFileName(const std::string& host) {
  if (host.empty() || host.size() > 253 || host[0] == '.' || host[0] == '-') return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

HmacKeyring::HmacKeyring(std::string dir, ClockPtr clock)
    : dir_(std::move(dir)), clock_(std::move(clock)) {}

HmacKeyring::Entry HmacKeyring::Load(const std::string& host) const {
  Entry e;
  e.checked = clock_->SteadyNow();
  if (dir_.empty()) {
    e.why = "no HMAC key: no [agents] keys_dir is configured";
    return e;
  }
  if (!IsKeyFileName(host)) {
    e.why = "no HMAC key: the host name cannot name a key file";
    return e;
  }
  auto keys = std::make_shared<HostKeys>(LoadHostKeys(dir_, host));
  for (const auto& p : keys->problems) spdlog::warn("HMAC keys of {}: {}", host, p);
  e.why = keys->current_problem;
  if (!keys->keys.empty()) e.keys = std::move(keys);
  return e;
}

HmacKeyring::Entry HmacKeyring::Lookup(const std::string& host, const std::string& want_id) {
  const auto now = clock_->SteadyNow();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(host);
  if (it != cache_.end()) {
    const Entry& c = it->second;
    const bool fresh = c.keys ? (want_id.empty() || HasKey(c.keys.get(), want_id) ||
                                 now - c.checked < kRecheckUnknownId)
                              : now - c.checked < kRecheckMissing;
    if (fresh) return c;
  }
  Entry e = Load(host);
  cache_[host] = e;
  return e;
}

std::shared_ptr<const HostKeys> HmacKeyring::Keys(const std::string& host, std::string* why) {
  Entry e = Lookup(host, "");
  if (why != nullptr) *why = e.why;
  return e.keys;
}

std::shared_ptr<const std::string> HmacKeyring::Get(const std::string& host, std::string* why) {
  auto keys = Keys(host, why);
  if (!keys || !keys->has_current) return nullptr;
  return std::shared_ptr<const std::string>(keys, &keys->keys.front().key);
}

void HmacKeyring::Authenticate(const ChainFields& f, v1::Event* e) {
  const Entry entry = Lookup(e->host(), f.key_id);
  if (!entry.keys) {
    e->set_integrity(v1::INTEGRITY_NO_KEY);
    e->set_chain_key_id(f.key_id);
    return;
  }
  bool named_known = false;
  for (const HostKey& k : entry.keys->keys) {
    if (!f.key_id.empty() && k.id != f.key_id) continue;
    named_known = true;
    if (k.hmac ? VerifyMessageMac(*k.hmac, e->raw(), f) : VerifyMessageMac(k.key, e->raw(), f)) {
      e->set_integrity(v1::INTEGRITY_VERIFIED);
      e->set_chain_key_id(k.id);
      return;
    }
  }
  if (!named_known) {
    e->set_integrity(v1::INTEGRITY_NO_KEY);
    e->set_chain_key_id(f.key_id);
    return;
  }
  e->set_integrity(v1::INTEGRITY_BAD_MAC);
}

void HmacKeyring::Forget() {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.clear();
}

}  // namespace trailkeep
