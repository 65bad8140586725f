#include "server/pipeline/record_deduper.h"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include "common/base/time_format.h"
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

int64_t RecordDeduper::CutOf(const std::string& host,
                             std::unordered_map<std::string, int64_t>* cuts) const {
  auto [it, fresh] = cuts->try_emplace(host, 0);
  if (fresh) {
    auto state = store_->GetHostState(host);
    if (state.ok() && state.value()) it->second = state.value()->retention_cut_us();
  }
  return it->second;
}

namespace {

void RecordExpiredReplay(const v1::Event& e, int64_t cut_us, CommitExtras* extras) {
  v1::IntegrityEvent& ie = extras->integrity.emplace_back();
  ie.set_host(e.host());
  ie.set_kind("replay");
  ie.set_time_us(e.receive_time_us());
  ie.set_detail("port-60 record from " + FormatRfc3339Micros(e.event_time_us()) +
                ", before the host's retention cut at " + FormatRfc3339Micros(cut_us) +
                ": a resend of an expired record, not stored again");
}

}  // namespace

void RecordDeduper::Prepare(std::vector<v1::Event>* events, CommitExtras* extras) {
  std::unordered_set<std::string> in_batch;
  std::unordered_map<std::string, int64_t> cuts;
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
      if (!duplicate && !e.event_time_inferred()) {
        const int64_t cut_us = CutOf(e.host(), &cuts);
        if (cut_us != 0 && e.event_time_us() < cut_us) {
          RecordExpiredReplay(e, cut_us, extras);
          ++expired_replays_;
          duplicate = true;
        }
      }
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
