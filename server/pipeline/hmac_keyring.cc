#include "server/pipeline/hmac_keyring.h"

#include "common/wire/hmac_chain.h"

namespace trailkeep {
namespace {

constexpr auto kRecheckMissing = std::chrono::seconds(5);

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

HmacKeyring::HmacKeyring(std::string dir) : dir_(std::move(dir)) {}

std::shared_ptr<const std::string> HmacKeyring::Get(const std::string& host, std::string* why) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(host);
  if (it != cache_.end() && (it->second.key || now - it->second.checked < kRecheckMissing)) {
    if (why != nullptr) *why = it->second.why;
    return it->second.key;
  }
  Entry e;
  e.checked = now;
  if (dir_.empty()) {
    e.why = "no HMAC key: no [agents] keys_dir is configured";
  } else if (!IsKeyFileName(host)) {
    e.why = "no HMAC key: the host name cannot name a key file";
  } else {
    auto key = LoadHmacKey(dir_ + "/" + host + ".key");
    if (key.ok()) {
      e.key = std::make_shared<const std::string>(std::move(key).value());
    } else {
      e.why = key.status().message();
    }
  }
  if (why != nullptr) *why = e.why;
  auto key = e.key;
  cache_[host] = std::move(e);
  return key;
}

void HmacKeyring::Forget() {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.clear();
}

}  // namespace trailkeep
