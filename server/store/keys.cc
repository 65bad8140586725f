#include "server/store/keys.h"

#include "common/base/bytes.h"

namespace trailkeep::keys {

std::string EventsKey(uint64_t first_seq) {
  std::string k;
  PutFixed64BE(&k, first_seq);
  return k;
}

std::string ByTimeKey(int64_t receive_second) {
  std::string k;
  PutFixed64BE(&k, OrderedFromSigned(receive_second));
  return k;
}

std::string ByHostKey(uint64_t host_id, int64_t receive_time_us, uint64_t first_seq) {
  std::string k;
  k.reserve(24);
  PutFixed64BE(&k, host_id);
  PutFixed64BE(&k, OrderedFromSigned(receive_time_us));
  PutFixed64BE(&k, first_seq);
  return k;
}

std::string ByNdcppKey(std::string_view ref, int64_t receive_time_us, uint64_t seq) {
  std::string k(ref);
  k.push_back('\0');
  PutFixed64BE(&k, OrderedFromSigned(receive_time_us));
  PutFixed64BE(&k, seq);
  return k;
}

std::string ChainKey(uint64_t host_id, uint64_t epoch, uint64_t last_seq) {
  std::string k;
  k.reserve(24);
  PutFixed64BE(&k, host_id);
  PutFixed64BE(&k, epoch);
  PutFixed64BE(&k, last_seq);
  return k;
}

std::string ChainValue(uint64_t first_seq, uint64_t block_seq) {
  std::string v;
  v.reserve(16);
  PutFixed64BE(&v, first_seq);
  PutFixed64BE(&v, block_seq);
  return v;
}

std::string IntegrityKey(uint64_t seq, uint32_t index) {
  std::string k;
  PutFixed64BE(&k, seq);
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>(index >> shift));
  return k;
}

std::string_view DedupeKeyHost(std::string_view k) {
  constexpr size_t kDigest = 32;
  if (k.size() < 1 + 1 + kDigest || k[0] != 'a' || k[k.size() - kDigest - 1] != '\0') return {};
  return k.substr(1, k.size() - kDigest - 2);
}

uint64_t DecodeSeq(std::string_view events_key) { return DecodeFixed64BE(events_key); }

uint64_t DecodeByHostSeq(std::string_view k) { return DecodeFixed64BE(k.substr(16)); }

int64_t DecodeByHostTime(std::string_view k) {
  return SignedFromOrdered(DecodeFixed64BE(k.substr(8)));
}

uint64_t DecodeByNdcppSeq(std::string_view k) { return DecodeFixed64BE(k.substr(k.size() - 8)); }

}  // namespace trailkeep::keys
