#include "server/pipeline/record_deduper.h"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

std::string RecordDeduper::KeyOf(const std::string& host, const std::string& raw) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(raw.data()), raw.size(), digest);
  std::string key = "a" + host;  // "a": auditd records; other kinds may follow
  key.push_back('\0');
  key.append(reinterpret_cast<const char*>(digest), sizeof digest);
  return key;
}

void RecordDeduper::Prepare(std::vector<v1::Event>* events, CommitExtras* extras) {
  std::unordered_set<std::string> in_batch;
  size_t kept = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    v1::Event& e = (*events)[i];
    bool duplicate = false;
    if (e.transport() == v1::TRANSPORT_AUDIT_PORT60) {
      std::string key = KeyOf(e.host(), e.raw());
      auto stored = store_->HasDedupeKey(key);
      if (!stored.ok()) {
        // Keep it: a duplicate stored is better than a record lost.
        spdlog::warn("dedupe lookup failed, record kept: {}", stored.status().ToString());
      }
      duplicate = !in_batch.insert(key).second || (stored.ok() && stored.value());
      if (!duplicate) extras->dedupe_keys.push_back(std::move(key));
    }
    if (duplicate) {
      ++dropped_;
      continue;
    }
    if (kept != i) (*events)[kept] = std::move(e);
    ++kept;
  }
  events->resize(kept);
}

}  // namespace trailkeep
