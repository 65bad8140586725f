// Key encodings of the column families (docs/formats/record_store.md).
// All integers are big-endian so RocksDB's bytewise order is numeric order;
// times are microseconds since the epoch, sign-flipped (OrderedFromSigned).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trailkeep::keys {

inline constexpr int kSchemaVersion = 1;

inline constexpr char kCfEvents[] = "events";
inline constexpr char kCfByTime[] = "by_time";
inline constexpr char kCfByHost[] = "by_host";
inline constexpr char kCfByNdcpp[] = "by_ndcpp";
inline constexpr char kCfChain[] = "chain";
inline constexpr char kCfHosts[] = "hosts";
inline constexpr char kCfIntegrity[] = "integrity";
inline constexpr char kCfDedupe[] = "dedupe";

// Keys of the default column family.
inline constexpr char kMetaSchemaVersion[] = "meta/schema_version";
inline constexpr char kMetaNextHostId[] = "meta/next_host_id";
// The next ingest_seq as of the last retention cut: the floor of the one
// recovered from the last block, which a cut may have removed.
inline constexpr char kMetaNextSeq[] = "meta/next_seq";

// events: first ingest_seq of the block.
std::string EventsKey(uint64_t first_seq);
// by_time: receive second -> first ingest_seq of that second (value).
std::string ByTimeKey(int64_t receive_second);
// by_host: host_id . receive_time_us . first ingest_seq of the block.
std::string ByHostKey(uint64_t host_id, int64_t receive_time_us, uint64_t first_seq);
// by_ndcpp: ref . 0x00 . receive_time_us . ingest_seq.
std::string ByNdcppKey(std::string_view ref, int64_t receive_time_us, uint64_t seq);

// chain: host_id . epoch . last seq of a run of the host's chained events in
// one block -> value ChainValue(first seq of the run, block's first ingest_seq).
std::string ChainKey(uint64_t host_id, uint64_t epoch, uint64_t last_seq);
std::string ChainValue(uint64_t first_seq, uint64_t block_seq);
// integrity: ingest_seq . index within the commit (4 bytes).
std::string IntegrityKey(uint64_t seq, uint32_t index);

// dedupe: the host a content key belongs to ("a" . host . 0x00 . SHA-256);
// empty when the key has another form.
std::string_view DedupeKeyHost(std::string_view dedupe_key);

// Decoders; the caller checks sizes against the encodings above.
uint64_t DecodeSeq(std::string_view events_key);
uint64_t DecodeByHostSeq(std::string_view by_host_key);
int64_t DecodeByHostTime(std::string_view by_host_key);
uint64_t DecodeByNdcppSeq(std::string_view by_ndcpp_key);

}  // namespace trailkeep::keys
