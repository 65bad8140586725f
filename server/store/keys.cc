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

uint64_t DecodeSeq(std::string_view events_key) { return DecodeFixed64BE(events_key); }

uint64_t DecodeByHostSeq(std::string_view k) { return DecodeFixed64BE(k.substr(16)); }

int64_t DecodeByHostTime(std::string_view k) {
  return SignedFromOrdered(DecodeFixed64BE(k.substr(8)));
}

uint64_t DecodeByNdcppSeq(std::string_view k) { return DecodeFixed64BE(k.substr(k.size() - 8)); }

}  // namespace trailkeep::keys
