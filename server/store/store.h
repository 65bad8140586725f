// Store: the collector's durable event store, as the rest of the server sees
// it. One writer (the committer thread) calls Commit(); readers (query, hosts,
// later export and tail) use the Scan/Get calls. RocksDB stays behind this
// interface (server/store/rocksdb_store.cc is its only includer).
//
// Concurrency: Commit() must be called from one thread at a time. Read calls
// are safe from any thread, concurrently with Commit().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace trailkeep::v1 {
class Event;
class HostState;
class IntegrityEvent;
}  // namespace trailkeep::v1

namespace trailkeep {

// What a commit writes besides events, in the same WriteBatch: integrity
// events (kept in the `integrity` CF under the commit's ingest_seqs) and the
// chain state of hosts (fields chain_epoch and after of HostState replace the
// stored ones; the counters the store keeps itself are left alone).
struct CommitExtras {
  std::vector<v1::IntegrityEvent> integrity;
  std::vector<v1::HostState> chain_states;
  // Content keys of stored records (RecordDeduper) for the `dedupe` CF.
  std::vector<std::string> dedupe_keys;
  // The new tunnel state of [[tunnel]] nodes (TunnelStateStage): `tunnel`
  // replaces the stored HostState.tunnel of host `name`, which is created
  // when it does not exist yet.
  std::vector<v1::HostState> tunnel_states;
  // Not written: how many events the commit stages appended to the batch
  // (grouped audit events), so the committer tells them from offered ones.
  size_t events_added = 0;
  bool empty() const {
    return integrity.empty() && chain_states.empty() && dedupe_keys.empty() &&
           tunnel_states.empty();
  }
};

// A stored record that did not parse as stored. Readers never stop at one:
// a block whose string fields hold invalid UTF-8 (written before Commit
// escaped them) is repaired and read; one that is not a record at all is
// skipped. Either way the handler hears of it once per record and process.
struct StoreReadIssue {
  std::string record;      // "event block", "host state", "integrity record"
  std::string position;    // "block 117 (seqs 117-120)", "host web01", ...
  uint64_t first_seq = 0;  // event blocks: the seqs the record holds
  uint64_t last_seq = 0;
  bool repaired = false;  // false: skipped, its events are not served
};
using StoreReadIssueHandler = std::function<void(const StoreReadIssue&)>;

// What Store::ExpireHost removed for one host (all zero: nothing expired).
struct RetentionCut {
  std::string host;
  int64_t cut_us = 0;      // the events removed were received before this
  uint64_t events = 0;     // events removed by this cut
  uint64_t blocks = 0;     // their blocks
  uint64_t first_seq = 0;  // lowest and highest ingest_seq removed
  uint64_t last_seq = 0;
  int64_t oldest_removed_us = 0;
  int64_t newest_removed_us = 0;
  int64_t oldest_kept_us = 0;  // the host's oldest event still stored (0: none)
  uint64_t chain_epoch = 0;    // chain position of the newest chained event removed
  uint64_t chain_seq = 0;
  std::string reason;  // "" (the retention policy) or kEarlyCutReason
  // Seal position of the newest sealed event removed (docs/formats/seal.md):
  // the RETENTION_CUT event names it, so the verifier links the host's
  // first kept event to it.
  uint32_t seal_chain = 0;
  uint64_t seal_seq = 0;
  std::string seal_mac;
  // Non-empty when compacting the index families after the cut failed (a
  // disk too full for the output): the cut stands, and their expired keys
  // leave at a later compaction.
  std::string index_compaction_error;
};

// RetentionCut::reason and HostState.retention_cut_reason of a cut made
// early to free disk space ([store] disk_full_action = "rotate").
inline constexpr char kEarlyCutReason[] = "disk_full_rotate";

// Free space a flush of the memtables needs beyond what they hold (file
// metadata, the manifest's new record): SettleAfterCuts flushes only with
// that much room, and the rotation sizes a cut that lets it flush by it.
inline constexpr uint64_t kFlushSlackBytes = 1u << 20;

// How far receive times may run backwards in commit order (a record held
// while the disk was full, an audit group closed late): scans by time read
// this far past their bounds, and filter event by event.
inline constexpr int64_t kReceiveOrderSlackUs = 60'000'000;

// One stored block of a host: its first event's receive time (a cut at a
// later time removes it, unless one of its events is later still) and
// RocksDB's estimate of the disk space it takes.
struct BlockBytes {
  int64_t receive_us = 0;
  uint64_t bytes = 0;
};
// The blocks a host keeps, oldest first (its newest event is in the last).
struct HostBlockBytes {
  std::string host;
  std::vector<BlockBytes> blocks;
};

class Store {
 public:
  virtual ~Store() = default;

  // Escapes invalid UTF-8 in every string field of the events, host states
  // and integrity events it writes (common/event/proto_utf8.h): a stray byte
  // from outside must never make a record unreadable.
  // Groups `events` into per-host blocks (each host's events keep their
  // order), assigns consecutive ingest_seqs block by block, and writes blocks,
  // index entries and host states in one WriteBatch with the WAL synced. On
  // return *events holds the same events in block order, which is ingest_seq
  // order; on success every event is durable and carries its ingest_seq, on
  // failure nothing of the batch is stored and the seqs are 0.
  // Chained events (chain_epoch != 0) also get `chain` CF entries, so
  // FindChainMac finds them. `extras` may be null.
  virtual Status Commit(std::vector<v1::Event>* events, const CommitExtras* extras) = 0;
  Status Commit(std::vector<v1::Event>* events) { return Commit(events, nullptr); }

  // The MAC of the stored event (host, epoch, seq), if one is stored (the
  // first one found when a conflict stored two).
  virtual Result<std::optional<std::string>> FindChainMac(const std::string& host, uint64_t epoch,
                                                          uint64_t seq) const = 0;
  // Whether a commit wrote `key` into the `dedupe` CF.
  virtual Result<bool> HasDedupeKey(const std::string& key) const = 0;
  // The stored state of `host`, as of the last commit. On a read-write store
  // call it from the committing thread.
  virtual Result<std::optional<v1::HostState>> GetHostState(const std::string& host) const = 0;
  // Integrity events recorded after ingest_seq `after_seq`, in order.
  virtual Status ScanIntegrity(uint64_t after_seq,
                               const std::function<bool(const v1::IntegrityEvent&)>& fn) const = 0;

  // Calls `fn` for each stored event with ingest_seq > after_seq, in ingest
  // order, until `fn` returns false.
  virtual Status ScanEvents(uint64_t after_seq,
                            const std::function<bool(const v1::Event&)>& fn) const = 0;
  // The smallest ingest_seq received at or after `time_us` (0 if none).
  virtual Result<uint64_t> SeqAtTime(int64_t time_us) const = 0;
  // Block start seqs of `host_id` received in [since_us, until_us], ascending.
  virtual Status ScanHostBlocks(uint64_t host_id, int64_t since_us, int64_t until_us,
                                const std::function<bool(uint64_t first_seq)>& fn) const = 0;
  // Ingest seqs classified under `ref`, received in [since_us, until_us].
  virtual Status ScanRef(const std::string& ref, int64_t since_us, int64_t until_us,
                         const std::function<bool(uint64_t seq)>& fn) const = 0;
  // Events of the block starting at `first_seq`.
  virtual Status ReadBlock(uint64_t first_seq, std::vector<v1::Event>* events) const = 0;
  virtual Status ListHosts(const std::function<void(const v1::HostState&)>& fn) const = 0;
  // Highest ingest_seq committed (0 when empty).
  virtual uint64_t LastSeq() const = 0;
  // Secondary instances: read what the primary committed since the last call.
  virtual Status CatchUp() = 0;
  // Where readers report records that did not parse as stored (see
  // StoreReadIssue). Set it once, before reads begin; may run on any reader's
  // thread, so it must be thread-safe and must not block.
  virtual void SetReadIssueHandler(StoreReadIssueHandler handler) = 0;
  // A consistent copy of the whole store in `dir` (which must not exist),
  // taken while commits go on: RocksDB's checkpoint (hard links where the
  // file system allows, memtables flushed first). The copy opens as a store.
  // Only a read-write store can take one.
  virtual Status CreateCheckpoint(const std::string& dir) const {
    return Status::Unavailable("this store cannot take a checkpoint of " + dir);
  }
  // Retention (docs/formats/record_store.md, 'Retention'). Removes the
  // blocks of `host` whose events were all received before `cut_us`, from
  // every column family, without scanning the store: the host's `by_host`
  // range below the cut names the blocks, which are read to find their keys
  // in `events`, `chain` and `by_ndcpp` (point deletes), `by_host` loses the
  // range itself, and the `integrity` and `dedupe` keys of the host go at
  // their next compaction (a filter with the host's cut; the call compacts
  // the ranges it touched; the blocks' own files shrink at the next
  // compaction of `events`, which SettleAfterCuts runs at once). The host's
  // HostState keeps the cut, its chain position and the count, in the same
  // synced WriteBatch, and `reason` ("" for the policy, kEarlyCutReason)
  // in retention_cut_reason (early cuts also add to early_expired_events).
  // Call it from the committing thread, between commits.
  virtual Result<RetentionCut> ExpireHost(const std::string& host, int64_t cut_us,
                                          const std::string& reason) {
    (void)cut_us;
    (void)reason;
    return Status::Unavailable("this store cannot expire the events of " + host);
  }
  Result<RetentionCut> ExpireHost(const std::string& host, int64_t cut_us) {
    return ExpireHost(host, cut_us, "");
  }
  // What an early cut would free, before making it: for every host that
  // keeps events, each block with RocksDB's own estimate of its size
  // (GetApproximateSizes, files and memtables, over the block's key range in
  // `events`: from its key to the next block's of any host, as hosts
  // interleave there). Data-block granular: a small block sharing a 4 KiB
  // data block may count 0 and the one ending it the whole; the index
  // families (tens of bytes an event) are left out. Committing thread.
  virtual Result<std::vector<HostBlockBytes>> ApproximateHostBytes() const {
    return Status::Unavailable("this store cannot estimate its hosts' sizes");
  }
  // Gives RocksDB's space back before the disk is read: flushes every
  // family (the write-ahead logs go), and after early cuts that removed
  // blocks in [first_seq, last_seq] (none when first_seq > last_seq) frees
  // them now rather than at a later compaction: the files holding nothing
  // but removed blocks are dropped, and the range is compacted when the
  // disk has room above the reserve for every file it touches (a rewrite
  // first adds what they keep). Then waits, at most
  // `timeout`, until RocksDB runs no flush and no compaction. False when
  // the wait timed out or `stop` (polled) said to give up. Committing
  // thread, between commits.
  virtual Result<bool> SettleAfterCuts(uint64_t first_seq, uint64_t last_seq,
                                       std::chrono::milliseconds timeout,
                                       const std::function<bool()>& stop) {
    (void)first_seq;
    (void)last_seq;
    (void)timeout;
    (void)stop;
    return Status::Unavailable("this store cannot compact");
  }
  // Removes the `by_time` entries of seconds before `before_us`; the caller
  // passes the oldest receive time any host still keeps, so SeqAtTime stays
  // exact for every kept event. Committing thread only.
  virtual Status ExpireTimeIndex(int64_t before_us) {
    (void)before_us;
    return Status::Unavailable("this store cannot expire its time index");
  }
  // Commit refuses to write while the store's disk has less free space than
  // this (default 16 MiB, [store] reserve): RocksDB must never meet ENOSPC
  // in a WAL append. Any thread.
  virtual void SetReserveBytes(uint64_t bytes) { (void)bytes; }
  // The lowest ingest_seq still stored (LastSeq() + 1 when none is).
  virtual Result<uint64_t> FirstSeq() const { return uint64_t{1}; }

  // A few cheap engine statistics for /metrics ("estimate_num_keys", ...).
  virtual std::vector<std::pair<std::string, uint64_t>> EngineStats() const { return {}; }
};

enum class StoreMode { kReadWrite, kSecondary };

// What the store may hold in memory ([store] memtable_bytes, block_cache_bytes):
// the memtables of every column family together (reaching the cap flushes
// the largest), and the block cache they share for reads.
struct StoreMemory {
  size_t memtable_bytes = 128u << 20;
  size_t block_cache_bytes = 32u << 20;
};

// Opens (creating when kReadWrite) the store under `dir`. Fails with a clear
// message when the schema version on disk differs from this build's.
Result<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir, StoreMode mode,
                                                StoreMemory memory = {});

}  // namespace trailkeep
