// RocksDB implementation of Store: the only file that includes <rocksdb/...>.
//
// Concurrency: Commit() runs on the committer thread only; it alone touches
// next_seq_ writes, last_second_, next_host_id_ and hosts_. Readers use the
// DB's own snapshot consistency; LastSeq() reads an atomic.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include "common/base/bytes.h"
#include "common/base/disk_space.h"
#include "common/base/utf8.h"
#include "common/event/proto_utf8.h"
#include "server/store/keys.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::NotFound(what + ": " + s.ToString());
  if (s.IsCorruption()) return Status::Corruption(what + ": " + s.ToString());
  if (s.IsIOError()) return Status::IoError(what + ": " + s.ToString());
  return Status::Unavailable(what + ": " + s.ToString());
}

const std::vector<std::string>& AllColumnFamilies() {
  static const std::vector<std::string> kNames = {rocksdb::kDefaultColumnFamilyName,
                                                  keys::kCfEvents,
                                                  keys::kCfByTime,
                                                  keys::kCfByHost,
                                                  keys::kCfByNdcpp,
                                                  keys::kCfChain,
                                                  keys::kCfHosts,
                                                  keys::kCfIntegrity,
                                                  keys::kCfDedupe};
  return kNames;
}

enum Cf { kDefault, kEvents, kByTime, kByHost, kByNdcpp, kChain, kHosts, kIntegrity, kDedupe };

// Each host's last retention cut, as the compaction filters of `integrity`
// and `dedupe` need it: those keys are in ingest or content order, so no key
// range holds one host's expired entries. Filled at open from `hosts` and
// by ExpireHost; read on RocksDB's compaction threads.
class RetentionCuts {
 public:
  struct Cut {
    int64_t before_us = 0;     // integrity events of the host older than this go
    uint64_t through_seq = 0;  // dedupe keys of the host at or below this go
  };
  void Set(const std::string& host, Cut cut) {
    std::lock_guard<std::mutex> lock(mu_);
    cuts_[host] = cut;
  }
  std::optional<Cut> Find(std::string_view host) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cuts_.find(std::string(host));
    if (it == cuts_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, Cut> cuts_;  // GUARDED_BY(mu_)
};

class IntegrityRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit IntegrityRetentionFilter(const RetentionCuts* cuts) : cuts_(cuts) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    v1::IntegrityEvent ie;
    if (!ie.ParseFromArray(value.data(), static_cast<int>(value.size()))) return false;
    const auto cut = cuts_->Find(ie.host());
    return cut && ie.time_us() < cut->before_us;
  }
  const char* Name() const override { return "trailkeep.IntegrityRetention"; }

 private:
  const RetentionCuts* cuts_;
};

class DedupeRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit DedupeRetentionFilter(const RetentionCuts* cuts) : cuts_(cuts) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    const std::string_view host = keys::DedupeKeyHost(key.ToStringView());
    if (host.empty() || value.size() != 8) return false;
    const auto cut = cuts_->Find(host);
    return cut && DecodeFixed64BE(value.ToStringView()) <= cut->through_seq;
  }
  const char* Name() const override { return "trailkeep.DedupeRetention"; }

 private:
  const RetentionCuts* cuts_;
};

struct RetentionFilters {
  RetentionCuts cuts;
  IntegrityRetentionFilter integrity{&cuts};
  DedupeRetentionFilter dedupe{&cuts};
};

// The events family's own write buffer: half the memtable budget, at most
// 32 MiB (more only delays the flush that the budget forces anyway).
constexpr size_t kEventsWriteBufferMax = 32u << 20;

// `block_cache` is shared by every column family: left to itself each
// family's table factory makes its own 8 MiB cache.
rocksdb::ColumnFamilyOptions CfOptions(const std::string& name,
                                       const std::shared_ptr<rocksdb::Cache>& block_cache,
                                       const RetentionFilters* filters, size_t memtable_bytes) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  o.compression = rocksdb::kNoCompression;
  if (name == keys::kCfEvents) {
    o.write_buffer_size = std::min(kEventsWriteBufferMax, memtable_bytes / 2);
    o.compression = rocksdb::kLZ4Compression;
    o.bottommost_compression = rocksdb::kZSTD;
  }
  if (name == keys::kCfIntegrity) o.compaction_filter = &filters->integrity;
  if (name == keys::kCfDedupe) o.compaction_filter = &filters->dedupe;
  return o;
}

// Free space below which commits are refused (the disk counts as full) until
// SetReserveBytes: room for RocksDB's flushes and compactions, and for a WAL
// append never to fail.
constexpr uint64_t kDefaultReserveFreeBytes = 16u << 20;

class RocksDbStore final : public Store {
 public:
  ~RocksDbStore() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    db_.reset();
    if (!secondary_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(secondary_dir_, ec);
    }
  }

  static Result<std::unique_ptr<Store>> Open(const std::string& dir, StoreMode mode,
                                             StoreMemory memory) {
    auto store = std::unique_ptr<RocksDbStore>(new RocksDbStore());
    Status s = store->DoOpen(dir, mode, memory);
    if (!s.ok()) return s;
    return std::unique_ptr<Store>(std::move(store));
  }

  Status Commit(std::vector<v1::Event>* events, const CommitExtras* extras) override;
  void SetReserveBytes(uint64_t bytes) override {
    reserve_bytes_.store(bytes, std::memory_order_relaxed);
  }
  Result<bool> HasDedupeKey(const std::string& key) const override;
  Result<std::optional<std::string>> FindChainMac(const std::string& host, uint64_t epoch,
                                                  uint64_t seq) const override;
  Result<std::optional<v1::HostState>> GetHostState(const std::string& host) const override;
  Status ScanIntegrity(uint64_t after_seq,
                       const std::function<bool(const v1::IntegrityEvent&)>& fn) const override;
  Status ScanEvents(uint64_t after_seq,
                    const std::function<bool(const v1::Event&)>& fn) const override;
  Result<uint64_t> SeqAtTime(int64_t time_us) const override;
  Status ScanHostBlocks(uint64_t host_id, int64_t since_us, int64_t until_us,
                        const std::function<bool(uint64_t)>& fn) const override;
  Status ScanRef(const std::string& ref, int64_t since_us, int64_t until_us,
                 const std::function<bool(uint64_t)>& fn) const override;
  Status ReadBlock(uint64_t first_seq, std::vector<v1::Event>* events) const override;
  Status ListHosts(const std::function<void(const v1::HostState&)>& fn) const override;
  uint64_t LastSeq() const override { return next_seq_.load(std::memory_order_acquire) - 1; }
  Status CatchUp() override;
  Status CreateCheckpoint(const std::string& dir) const override {
    if (read_only_) return Status::Unavailable("a secondary store cannot take a checkpoint");
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status rs = rocksdb::Checkpoint::Create(db_.get(), &raw);
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // log_size_for_flush 0: memtables are flushed first, so the copy needs
    // no WAL replay and holds everything committed before the call.
    if (rs.ok()) rs = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
    return FromRocks(rs, "checkpoint into " + dir);
  }

  void SetReadIssueHandler(StoreReadIssueHandler handler) override {
    read_issues_.handler = std::move(handler);
  }
  std::vector<std::pair<std::string, uint64_t>> EngineStats() const override;
  Result<RetentionCut> ExpireHost(const std::string& host, int64_t cut_us,
                                  const std::string& reason) override;
  Status ExpireTimeIndex(int64_t before_us) override;
  Result<std::vector<HostBlockBytes>> ApproximateHostBytes() const override;
  Result<bool> SettleAfterCuts(uint64_t first_seq, uint64_t last_seq,
                               std::chrono::milliseconds timeout,
                               const std::function<bool()>& stop) override;
  Result<uint64_t> FirstSeq() const override;

 private:
  RocksDbStore() = default;
  Status DoOpen(const std::string& dir, StoreMode mode, StoreMemory memory);
  Status CheckSchema(bool fresh);
  Status RecoverCounters();
  // SettleAfterCuts: drops the `events` files holding only removed blocks
  // of [first_seq, last_seq], then compacts the range when the disk has
  // room above `reserve` for every file it touches.
  Status FreeRemovedBlocks(uint64_t first_seq, uint64_t last_seq, uint64_t reserve);
  v1::HostState* HostFor(const std::string& name, rocksdb::WriteBatch* wb, bool* new_id);
  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles_[c]; }
  // Parses an event block stored at `key`, repairing invalid UTF-8; false
  // (reported) when it is not a block at all, and the caller skips it.
  bool ParseBlock(const rocksdb::Slice& key, const rocksdb::Slice& value,
                  v1::EventBlock* block) const;
  // Parses another stored record; false (reported) when it does not parse.
  bool ParseRecord(const rocksdb::Slice& value, google::protobuf::Message* record,
                   const std::string& what, const std::string& position) const;

  // Records that did not parse as stored, each reported once (readers run on
  // many threads).
  struct ReadIssues {
    StoreReadIssueHandler handler;  // set before reads begin
    std::mutex mu;
    std::set<std::string> reported;  // GUARDED_BY(mu); bounded by kMaxRemembered
    static constexpr size_t kMaxRemembered = 100000;
    void Report(StoreReadIssue issue);
  };
  mutable ReadIssues read_issues_;

  // Outlives db_ (declared before it): its compactions use the filters.
  std::unique_ptr<RetentionFilters> filters_ = std::make_unique<RetentionFilters>();
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::string secondary_dir_;
  bool read_only_ = false;

  std::atomic<uint64_t> next_seq_{1};
  bool needs_resume_ = false;  // committer thread only
  std::atomic<uint64_t> reserve_bytes_{kDefaultReserveFreeBytes};
  std::string dir_;
  int64_t last_second_ = INT64_MIN;
  uint64_t next_host_id_ = 1;
  std::unordered_map<std::string, v1::HostState> hosts_;
};

Status RocksDbStore::DoOpen(const std::string& dir, StoreMode mode, StoreMemory memory) {
  dir_ = dir;
  rocksdb::DBOptions opts;
  opts.create_if_missing = mode == StoreMode::kReadWrite;
  opts.create_missing_column_families = mode == StoreMode::kReadWrite;
  opts.max_background_jobs = 2;
  // One cap on the memtables of all column families together: each family's
  // own write buffer (64 MiB by default, 9 families, two buffers each) would
  // let a flood of small events hold over a GiB before any flush. Reaching
  // the cap flushes the largest memtable.
  opts.db_write_buffer_size = memory.memtable_bytes;
  opts.keep_log_file_num = 4;
  // No preallocation: RocksDB reserves each new write-ahead log's space
  // ahead (a tenth over the largest write buffer, tens of MiB) with
  // fallocate, which the disk's free space shows and no file size does;
  // the disk-full policy reads that free space.
  opts.allow_fallocate = false;
  opts.info_log_level = rocksdb::WARN_LEVEL;

  std::vector<std::string> existing;
  bool fresh = !rocksdb::DB::ListColumnFamilies(opts, dir, &existing).ok();
  if (fresh && mode != StoreMode::kReadWrite) {
    return Status::NotFound("no trailkeep store at " + dir +
                            " (start trailkeepd with this data folder first)");
  }
  std::vector<std::string> names = AllColumnFamilies();
  for (const auto& e : existing) {
    if (std::find(names.begin(), names.end(), e) == names.end()) names.push_back(e);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  const std::shared_ptr<rocksdb::Cache> block_cache =
      rocksdb::NewLRUCache(memory.block_cache_bytes);
  for (const auto& n : names) {
    descs.emplace_back(n, CfOptions(n, block_cache, filters_.get(), memory.memtable_bytes));
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status rs;
  if (mode == StoreMode::kReadWrite) {
    rs = rocksdb::DB::Open(opts, dir, descs, &handles_, &raw);
  } else {
    if (names.size() != existing.size()) {
      return Status::InvalidArgument("store at " + dir +
                                     " lacks column families of schema version " +
                                     std::to_string(keys::kSchemaVersion));
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "trailkeep-secondary-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) return Status::IoError("mkdtemp for secondary instance");
    secondary_dir_ = tmpl;
    opts.max_open_files = -1;
    rs = rocksdb::DB::OpenAsSecondary(opts, dir, secondary_dir_, descs, &handles_, &raw);
    read_only_ = true;
  }
  db_.reset(raw);
  if (rs.IsIOError() && rs.ToString().find("/LOCK: ") != std::string::npos) {
    // RocksDB's own text ("While lock file: .../LOCK: Resource temporarily
    // unavailable") does not tell an operator what holds it.
    return Status::Unavailable("the store at " + dir +
                               " is in use: another trailkeepd holds its LOCK file (one collector "
                               "per data_dir; the store tools read it while it runs: "
                               "trailkeepd query --db DATA_DIR)");
  }
  if (!rs.ok()) return FromRocks(rs, "opening the store at " + dir);
  Status s = CheckSchema(fresh);
  if (!s.ok()) return s;
  return RecoverCounters();
}

Status RocksDbStore::CheckSchema(bool fresh) {
  std::string v;
  rocksdb::Status rs = db_->Get({}, cf(kDefault), keys::kMetaSchemaVersion, &v);
  if (rs.IsNotFound() && fresh && !read_only_) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(
        db_->Put(wo, cf(kDefault), keys::kMetaSchemaVersion, std::to_string(keys::kSchemaVersion)),
        "writing the schema version");
  }
  if (rs.IsNotFound()) {
    return Status::Corruption("the store has no schema version: not a trailkeep store");
  }
  if (!rs.ok()) return FromRocks(rs, "reading the schema version");
  if (v != std::to_string(keys::kSchemaVersion)) {
    return Status::InvalidArgument("the store has schema version " + v +
                                   "; this trailkeepd reads "
                                   "schema version " +
                                   std::to_string(keys::kSchemaVersion) +
                                   " (see docs/formats/record_store.md)");
  }
  return Status::Ok();
}

Status RocksDbStore::RecoverCounters() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kEvents)));
  it->SeekToLast();
  if (it->Valid()) {
    v1::EventBlock block;
    if (ParseRepairingUtf8(it->value().ToStringView(), &block) == ParseOutcome::kUnparseable) {
      return Status::Corruption("the event block at the end of the store (block " +
                                std::to_string(keys::DecodeSeq(it->key().ToStringView())) +
                                ") does not parse: its events cannot be counted");
    }
    next_seq_ =
        keys::DecodeSeq(it->key().ToStringView()) + static_cast<uint64_t>(block.events_size());
  } else {
    next_seq_ = 1;
  }
  std::string floor;
  if (db_->Get({}, cf(kDefault), keys::kMetaNextSeq, &floor).ok() && floor.size() == 8) {
    next_seq_ = std::max(next_seq_.load(), DecodeFixed64BE(floor));
  }
  std::unique_ptr<rocksdb::Iterator> t(db_->NewIterator({}, cf(kByTime)));
  t->SeekToLast();
  if (t->Valid()) last_second_ = SignedFromOrdered(DecodeFixed64BE(t->key().ToStringView()));
  std::string v;
  if (db_->Get({}, cf(kDefault), keys::kMetaNextHostId, &v).ok() && v.size() == 8) {
    next_host_id_ = DecodeFixed64BE(v);
  }
  if (!read_only_) {
    // The compaction filters need every host's last cut (one read of
    // `hosts`, which holds one key per host). Not reported here: the
    // readers report a record that does not parse, once, to the handler
    // set after the open.
    std::unique_ptr<rocksdb::Iterator> h(db_->NewIterator({}, cf(kHosts)));
    v1::HostState hs;
    for (h->SeekToFirst(); h->Valid(); h->Next()) {
      if (ParseRepairingUtf8(h->value().ToStringView(), &hs) == ParseOutcome::kUnparseable)
        continue;
      if (hs.retention_cut_us() != 0) {
        filters_->cuts.Set(hs.name(), {hs.retention_cut_us(), hs.expired_through_seq()});
      }
    }
    return FromRocks(h->status(), "reading the hosts' retention cuts");
  }
  return Status::Ok();
}

// The chain fields of `from` (HostState 11 and up) replace those of *to.
void MergeChainState(const v1::HostState& from, v1::HostState* to) {
  to->set_chain_epoch(from.chain_epoch());
  to->set_contiguous_seq(from.contiguous_seq());
  to->set_chain_head_mac(from.chain_head_mac());
  to->set_duplicates_dropped(from.duplicates_dropped());
  to->set_integrity_alarms(from.integrity_alarms());
  to->set_agent_head_seq(from.agent_head_seq());
  to->set_last_heartbeat_us(from.last_heartbeat_us());
  *to->mutable_unauthentic_ahead() = from.unauthentic_ahead();
  to->set_highest_seq(from.highest_seq());
  *to->mutable_key_schedule() = from.key_schedule();
}

// The block's runs of chained events, epoch -> (lowest seq, highest seq):
// one chain CF entry each.
std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> ChainRuns(const v1::EventBlock& block) {
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> runs;
  for (const auto& e : block.events()) {
    if (e.chain_epoch() == 0) continue;
    auto [it, fresh] = runs.try_emplace(e.chain_epoch(), e.chain_seq(), e.chain_seq());
    if (!fresh) {
      it->second.first = std::min(it->second.first, e.chain_seq());
      it->second.second = std::max(it->second.second, e.chain_seq());
    }
  }
  return runs;
}

void PutChainEntries(const v1::EventBlock& block, uint64_t block_first, rocksdb::WriteBatch* wb,
                     rocksdb::ColumnFamilyHandle* cf) {
  for (const auto& [epoch, range] : ChainRuns(block)) {
    wb->Put(cf, keys::ChainKey(block.host_id(), epoch, range.second),
            keys::ChainValue(range.first, block_first));
  }
}

v1::HostState* RocksDbStore::HostFor(const std::string& name, rocksdb::WriteBatch*, bool* new_id) {
  auto it = hosts_.find(name);
  if (it != hosts_.end()) return &it->second;
  v1::HostState hs;
  std::string v;
  if (db_->Get({}, cf(kHosts), name, &v).ok() &&
      ParseRecord(v, &hs, "host state", "host " + EscapeInvalidUtf8(name))) {
    return &hosts_.emplace(name, std::move(hs)).first->second;
  }
  hs.set_id(next_host_id_++);
  hs.set_name(name);
  *new_id = true;
  return &hosts_.emplace(name, std::move(hs)).first->second;
}

Status RocksDbStore::Commit(std::vector<v1::Event>* events, const CommitExtras* extras) {
  if (read_only_) return Status::InvalidArgument("Commit on a read-only store");
  if (events->empty() && (extras == nullptr || extras->empty())) return Status::Ok();
  // RocksDB must never meet ENOSPC in a WAL append: Debian's 7.8 build then
  // aborts on an assertion when it syncs that WAL. Refuse the commit while
  // the disk is below the reserve instead; the committer retries it.
  const uint64_t free_bytes = FreeDiskBytes(dir_).value_or(0);  // unreadable counts as full
  const uint64_t reserve = reserve_bytes_.load(std::memory_order_relaxed);
  if (free_bytes < reserve) {
    needs_resume_ = true;
    return Status::IoError("the store's disk is full (" + std::to_string(free_bytes) +
                           " bytes free, " + std::to_string(reserve) +
                           " kept in reserve); waiting for room");
  }
  if (needs_resume_) {
    // A background error (a flush on a full disk) stops writes until Resume().
    rocksdb::Status rs = db_->Resume();
    if (!rs.ok()) return FromRocks(rs, "resuming the store after a failed write");
    needs_resume_ = false;
  }
  rocksdb::WriteBatch wb;
  // Nothing from outside may make a stored record unreadable (store.h).
  for (v1::Event& e : *events) MakeStringsValidUtf8(&e);
  const auto put_host = [&](const std::string& name, v1::HostState* hs) {
    MakeStringsValidUtf8(hs);
    wb.Put(cf(kHosts), name, hs->SerializeAsString());
  };
  // Group by host, keeping each host's events in arrival order.
  std::vector<std::string> order;
  std::unordered_map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < events->size(); ++i) {
    auto [it, inserted] = groups.try_emplace((*events)[i].host());
    if (inserted) order.push_back(it->first);
    it->second.push_back(i);
  }

  const uint64_t next_host_id_before = next_host_id_;
  const uint64_t first_seq_of_commit = next_seq_.load(std::memory_order_relaxed);
  uint64_t seq = first_seq_of_commit;
  int64_t last_second = last_second_;
  bool new_host = false;
  std::unordered_map<std::string, v1::HostState> touched;  // copies, for rollback
  std::string value;
  std::vector<v1::Event> ordered;  // the events again, in ingest_seq order
  ordered.reserve(events->size());
  for (const std::string& host : order) {
    v1::HostState* hs = HostFor(host, &wb, &new_host);
    if (!touched.count(host)) touched.emplace(host, *hs);
    const auto& idx = groups[host];
    const uint64_t block_first = seq;
    v1::EventBlock block;
    block.set_host_id(hs->id());
    for (size_t i : idx) {
      v1::Event& e = (*events)[i];
      e.set_ingest_seq(seq);
      const int64_t sec = e.receive_time_us() / 1000000;
      if (sec > last_second) {
        wb.Put(cf(kByTime), keys::ByTimeKey(sec), keys::EventsKey(seq));
        last_second = sec;
      }
      for (const auto& ref : e.ndcpp_refs()) {
        wb.Put(cf(kByNdcpp), keys::ByNdcppKey(ref, e.receive_time_us(), seq), "");
      }
      if (hs->first_seen_us() == 0) hs->set_first_seen_us(e.receive_time_us());
      if (hs->oldest_kept_us() == 0) {
        // Nothing kept (a new host, or every event expired): this one is the
        // oldest. A host of a store written before retention keeps all.
        hs->set_oldest_kept_us(hs->events() == hs->expired_events() ? e.receive_time_us()
                                                                    : hs->first_seen_us());
      }
      hs->set_last_seen_us(std::max(hs->last_seen_us(), e.receive_time_us()));
      hs->set_events(hs->events() + 1);
      hs->set_bytes(hs->bytes() + e.raw().size());
      if (!e.peer().authenticated())
        hs->set_unauthenticated_events(hs->unauthenticated_events() + 1);
      hs->set_last_peer(e.peer().address());
      hs->set_last_transport(e.transport());
      hs->set_last_ingest_seq(seq);
      if (e.has_seal()) {
        // The host's seal head, so a restart continues its chain (SealStage).
        hs->set_seal_chain(e.seal().chain());
        hs->set_seal_seq(e.seal().seq());
        hs->set_seal_mac(e.seal().mac());
      }
      block.add_events()->Swap(&e);
      ++seq;
    }
    block.SerializeToString(&value);
    wb.Put(cf(kEvents), keys::EventsKey(block_first), value);
    PutChainEntries(block, block_first, &wb, cf(kChain));
    // Never before the host's previous key: its keys stay in commit order even
    // when receive times run backwards, so every cut (ExpireHost) removes a
    // prefix of the host's commits, which its seal and agent chains can show.
    const int64_t key_us = std::max(block.events(0).receive_time_us(), hs->block_key_us());
    hs->set_block_key_us(key_us);
    wb.Put(cf(kByHost), keys::ByHostKey(hs->id(), key_us, block_first), "");
    // Hand the events back to the caller block by block: ingest_seq order.
    for (auto& e : *block.mutable_events()) ordered.emplace_back().Swap(&e);
    put_host(host, hs);
  }
  if (extras != nullptr) {
    for (const v1::HostState& node : extras->tunnel_states) {
      const std::string name = EscapeInvalidUtf8(node.name());  // as the events' host
      v1::HostState* hs = HostFor(name, &wb, &new_host);
      if (!touched.count(name)) touched.emplace(name, *hs);
      *hs->mutable_tunnel() = node.tunnel();
      put_host(name, hs);
    }
    for (const v1::HostState& chain : extras->chain_states) {
      const std::string name = EscapeInvalidUtf8(chain.name());  // as the events' host
      v1::HostState* hs = HostFor(name, &wb, &new_host);
      if (!touched.count(name)) touched.emplace(name, *hs);
      MergeChainState(chain, hs);
      put_host(name, hs);
    }
    // Recorded under the commit's last ingest_seq (the store's last one when
    // the commit holds no events), so they sort with the events around them.
    const uint64_t at = seq - 1;
    uint32_t index = 0;
    for (const v1::IntegrityEvent& ie : extras->integrity) {
      v1::IntegrityEvent copy = ie;
      copy.set_ingest_seq(at);
      MakeStringsValidUtf8(&copy);
      wb.Put(cf(kIntegrity), keys::IntegrityKey(at, index++), copy.SerializeAsString());
    }
    std::string at_be;
    PutFixed64BE(&at_be, at);
    for (const std::string& key : extras->dedupe_keys) wb.Put(cf(kDedupe), key, at_be);
  }
  if (new_host) {
    std::string id;
    PutFixed64BE(&id, next_host_id_);
    wb.Put(cf(kDefault), keys::kMetaNextHostId, id);
  }
  events->swap(ordered);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status rs = db_->Write(wo, &wb);
  if (!rs.ok()) {
    // Forget hosts created by this batch (their ids are handed out again)
    // and restore the others, so memory matches what is on disk.
    for (auto& [name, old] : touched) {
      if (old.id() >= next_host_id_before) {
        hosts_.erase(name);
      } else {
        hosts_[name] = std::move(old);
      }
    }
    next_host_id_ = next_host_id_before;
    needs_resume_ = true;
    for (auto& e : *events) e.set_ingest_seq(0);
    return FromRocks(rs, "committing " + std::to_string(events->size()) + " events");
  }
  last_second_ = last_second;
  next_seq_.store(seq, std::memory_order_release);
  return Status::Ok();
}

Result<bool> RocksDbStore::HasDedupeKey(const std::string& key) const {
  std::string value;
  rocksdb::Status rs = db_->Get({}, cf(kDedupe), key, &value);
  if (rs.IsNotFound()) return false;
  if (!rs.ok()) return FromRocks(rs, "reading the dedupe index");
  return true;
}

Result<std::optional<std::string>> RocksDbStore::FindChainMac(const std::string& host,
                                                              uint64_t epoch, uint64_t seq) const {
  auto hs = GetHostState(host);
  if (!hs.ok()) return hs.status();
  if (!hs.value()) return std::optional<std::string>();
  const uint64_t host_id = hs.value()->id();
  std::string prefix;
  PutFixed64BE(&prefix, host_id);
  PutFixed64BE(&prefix, epoch);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kChain)));
  // Runs are keyed by their last seq: the first run ending at or after `seq`
  // holds it unless a later, overlapping run (a resend) does; look at a few.
  int looked = 0;
  for (it->Seek(keys::ChainKey(host_id, epoch, seq));
       it->Valid() && it->key().starts_with(prefix) && looked < 64; it->Next(), ++looked) {
    std::string_view v = it->value().ToStringView();
    if (v.size() != 16 || DecodeFixed64BE(v) > seq) continue;
    std::vector<v1::Event> block;
    Status s = ReadBlock(DecodeFixed64BE(v.substr(8)), &block);
    if (!s.ok()) return s;
    for (const auto& e : block) {
      if (e.chain_epoch() == epoch && e.chain_seq() == seq) {
        return std::optional<std::string>(e.chain_mac());
      }
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the chain index");
  return std::optional<std::string>();
}

Result<std::optional<v1::HostState>> RocksDbStore::GetHostState(const std::string& host) const {
  if (!read_only_) {
    auto it = hosts_.find(host);
    if (it != hosts_.end()) return std::optional<v1::HostState>(it->second);
  }
  std::string v;
  rocksdb::Status rs = db_->Get({}, cf(kHosts), host, &v);
  if (rs.IsNotFound()) return std::optional<v1::HostState>();
  if (!rs.ok()) return FromRocks(rs, "reading the state of host " + host);
  v1::HostState hs;
  if (!ParseRecord(v, &hs, "host state", "host " + EscapeInvalidUtf8(host))) {
    return Status::Corruption("the state of host " + EscapeInvalidUtf8(host) + " does not parse");
  }
  return std::optional<v1::HostState>(std::move(hs));
}

Status RocksDbStore::ScanIntegrity(uint64_t after_seq,
                                   const std::function<bool(const v1::IntegrityEvent&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kIntegrity)));
  v1::IntegrityEvent ie;
  for (it->Seek(keys::EventsKey(after_seq + 1)); it->Valid(); it->Next()) {
    const std::string position =
        "integrity record at seq " + std::to_string(keys::DecodeSeq(it->key().ToStringView()));
    if (!ParseRecord(it->value(), &ie, "integrity record", position)) continue;
    if (!fn(ie)) break;
  }
  return FromRocks(it->status(), "scanning integrity events");
}

Status RocksDbStore::ReadBlock(uint64_t first_seq, std::vector<v1::Event>* events) const {
  std::string v;
  rocksdb::Status rs = db_->Get({}, cf(kEvents), keys::EventsKey(first_seq), &v);
  if (!rs.ok()) return FromRocks(rs, "reading block " + std::to_string(first_seq));
  v1::EventBlock block;
  if (!ParseBlock(keys::EventsKey(first_seq), v, &block)) return Status::Ok();  // reported
  for (auto& e : *block.mutable_events()) events->push_back(std::move(e));
  return Status::Ok();
}

Status RocksDbStore::ScanEvents(uint64_t after_seq,
                                const std::function<bool(const v1::Event&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kEvents)));
  it->SeekForPrev(keys::EventsKey(after_seq + 1));
  if (!it->Valid()) it->SeekToFirst();
  v1::EventBlock block;
  for (; it->Valid(); it->Next()) {
    if (!ParseBlock(it->key(), it->value(), &block)) continue;  // reported
    for (const auto& e : block.events()) {
      if (e.ingest_seq() <= after_seq) continue;
      if (!fn(e)) return Status::Ok();
    }
  }
  return FromRocks(it->status(), "scanning events");
}

Result<uint64_t> RocksDbStore::SeqAtTime(int64_t time_us) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kByTime)));
  int64_t sec = time_us / 1000000;
  if (time_us < 0 && time_us % 1000000 != 0) --sec;
  it->Seek(keys::ByTimeKey(sec));
  if (!it->Valid()) {
    if (!it->status().ok()) return FromRocks(it->status(), "reading by_time");
    return LastSeq() + 1;  // nothing that late yet
  }
  return keys::DecodeSeq(it->value().ToStringView());
}

Status RocksDbStore::ScanHostBlocks(uint64_t host_id, int64_t since_us, int64_t until_us,
                                    const std::function<bool(uint64_t)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kByHost)));
  std::string prefix;
  PutFixed64BE(&prefix, host_id);
  // A block's key carries its first event's time, raised to the host's
  // previous key: start a little early so a block that began before `since`
  // but holds later events is not missed, and stop a little late for one
  // whose key was raised past `until`.
  it->Seek(keys::ByHostKey(host_id, since_us - kReceiveOrderSlackUs, 0));
  const int64_t stop_us =
      until_us > INT64_MAX - kReceiveOrderSlackUs ? INT64_MAX : until_us + kReceiveOrderSlackUs;
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (keys::DecodeByHostTime(it->key().ToStringView()) > stop_us) break;
    if (!fn(keys::DecodeByHostSeq(it->key().ToStringView()))) break;
  }
  return FromRocks(it->status(), "scanning by_host");
}

Status RocksDbStore::ScanRef(const std::string& ref, int64_t since_us, int64_t until_us,
                             const std::function<bool(uint64_t)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kByNdcpp)));
  std::string prefix = ref;
  prefix.push_back('\0');
  it->Seek(keys::ByNdcppKey(ref, since_us, 0));
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view k = it->key().ToStringView();
    if (SignedFromOrdered(DecodeFixed64BE(k.substr(prefix.size(), 8))) > until_us) break;
    if (!fn(keys::DecodeByNdcppSeq(k))) break;
  }
  return FromRocks(it->status(), "scanning by_ndcpp");
}

Result<RetentionCut> RocksDbStore::ExpireHost(const std::string& host, int64_t cut_us,
                                              const std::string& reason) {
  if (read_only_) return Status::InvalidArgument("ExpireHost on a read-only store");
  RetentionCut cut;
  cut.host = host;
  cut.cut_us = cut_us;
  cut.reason = reason;
  if (hosts_.find(host) == hosts_.end()) {
    auto stored = GetHostState(host);
    if (!stored.ok()) return stored.status();
    if (!stored.value()) return cut;  // no such host
  }
  bool unused = false;
  v1::HostState* hs = HostFor(host, nullptr, &unused);
  const uint64_t host_id = hs->id();

  // The host's blocks in by_host order, which is its commit order (Commit
  // keeps its key times from running backwards): only those below the cut
  // are read (to count them and find their by_ndcpp keys and chain
  // positions), and what is removed is a prefix of the host's commits.
  rocksdb::WriteBatch wb;
  std::string prefix;
  PutFixed64BE(&prefix, host_id);
  const std::string begin = keys::ByHostKey(host_id, INT64_MIN, 0);
  std::string end = keys::ByHostKey(host_id, cut_us, 0);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kByHost)));
  std::string value;
  v1::EventBlock block;
  for (it->Seek(begin); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (keys::DecodeByHostTime(key) >= cut_us) break;
    const uint64_t first_seq = keys::DecodeByHostSeq(key);
    rocksdb::Status rs = db_->Get({}, cf(kEvents), keys::EventsKey(first_seq), &value);
    if (rs.IsNotFound()) continue;  // its index entry outlived it: goes with the range
    if (!rs.ok()) return FromRocks(rs, "reading block " + std::to_string(first_seq));
    if (!ParseBlock(keys::EventsKey(first_seq), value, &block))
      block.Clear();  // reported; removed all the same
    const bool straddles =
        std::any_of(block.events().begin(), block.events().end(),
                    [&](const v1::Event& e) { return e.receive_time_us() >= cut_us; });
    if (straddles) {
      end = std::string(key);  // kept whole, with everything after it
      break;
    }
    for (const v1::Event& e : block.events()) {
      const int64_t t = e.receive_time_us();
      if (cut.events == 0 || t < cut.oldest_removed_us) cut.oldest_removed_us = t;
      cut.newest_removed_us = std::max(cut.newest_removed_us, t);
      for (const auto& ref : e.ndcpp_refs()) {
        wb.Delete(cf(kByNdcpp), keys::ByNdcppKey(ref, t, e.ingest_seq()));
      }
      if (e.chain_epoch() != 0 && std::make_pair(e.chain_epoch(), e.chain_seq()) >
                                      std::make_pair(cut.chain_epoch, cut.chain_seq)) {
        cut.chain_epoch = e.chain_epoch();
        cut.chain_seq = e.chain_seq();
      }
      if (e.has_seal() && std::make_pair(e.seal().chain(), e.seal().seq()) >
                              std::make_pair(cut.seal_chain, cut.seal_seq)) {
        cut.seal_chain = e.seal().chain();
        cut.seal_seq = e.seal().seq();
        cut.seal_mac = e.seal().mac();
      }
      ++cut.events;
    }
    for (const auto& [epoch, range] : ChainRuns(block)) {
      wb.Delete(cf(kChain), keys::ChainKey(host_id, epoch, range.second));
    }
    wb.Delete(cf(kEvents), keys::EventsKey(first_seq));
    const uint64_t last_seq =
        first_seq + static_cast<uint64_t>(std::max(block.events_size(), 1)) - 1;
    cut.first_seq = cut.blocks == 0 ? first_seq : std::min(cut.first_seq, first_seq);
    cut.last_seq = std::max(cut.last_seq, last_seq);
    ++cut.blocks;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading by_host of " + host);
  if (cut.blocks == 0) return cut;
  // The first entry left is the oldest block kept.
  it->Seek(end);
  if (it->Valid() && it->key().starts_with(prefix)) {
    cut.oldest_kept_us = keys::DecodeByHostTime(it->key().ToStringView());
  }
  wb.DeleteRange(cf(kByHost), begin, end);

  v1::HostState before = *hs;
  hs->set_retention_cut_us(std::max(hs->retention_cut_us(), cut_us));
  hs->set_expired_events(hs->expired_events() + cut.events);
  hs->set_expired_through_seq(std::max(hs->expired_through_seq(), cut.last_seq));
  if (std::make_pair(cut.chain_epoch, cut.chain_seq) >
      std::make_pair(hs->cut_chain_epoch(), hs->cut_chain_seq())) {
    hs->set_cut_chain_epoch(cut.chain_epoch);
    hs->set_cut_chain_seq(cut.chain_seq);
  }
  hs->set_oldest_kept_us(cut.oldest_kept_us);
  hs->set_retention_cut_reason(reason);
  if (!reason.empty()) hs->set_early_expired_events(hs->early_expired_events() + cut.events);
  MakeStringsValidUtf8(hs);
  wb.Put(cf(kHosts), host, hs->SerializeAsString());
  // The cut may remove the store's last block, from which an open recovers
  // the next ingest_seq: keep it apart.
  std::string next;
  PutFixed64BE(&next, next_seq_.load(std::memory_order_relaxed));
  wb.Put(cf(kDefault), keys::kMetaNextSeq, next);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status rs = db_->Write(wo, &wb);
  if (!rs.ok()) {
    *hs = std::move(before);
    needs_resume_ = true;  // as after a failed commit
    return FromRocks(rs, "removing expired events of " + host);
  }
  filters_->cuts.Set(host, {hs->retention_cut_us(), hs->expired_through_seq()});
  // The filtered families are small: compact the ranges that may hold the
  // host's expired keys now, so they leave the disk with the events.
  std::string dedupe_begin = "a" + host;
  dedupe_begin.push_back('\0');
  std::string dedupe_end = "a" + host;
  dedupe_end.push_back('\1');
  const std::string integrity_end = keys::IntegrityKey(cut.last_seq + 1, 0);
  const rocksdb::Slice db(dedupe_begin), de(dedupe_end), ie(integrity_end);
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  Status s = FromRocks(db_->CompactRange(co, cf(kDedupe), &db, &de), "compacting dedupe");
  if (s.ok())
    s = FromRocks(db_->CompactRange(co, cf(kIntegrity), nullptr, &ie), "compacting integrity");
  // The cut is made and must be reported as made: a compaction RocksDB
  // refuses (a disk too full for its output) only leaves the keys to a later
  // one, which the filters drop them from.
  if (!s.ok()) cut.index_compaction_error = s.ToString();
  return cut;
}

Result<std::vector<HostBlockBytes>> RocksDbStore::ApproximateHostBytes() const {
  std::unordered_map<uint64_t, std::string> names;  // host id -> name
  Status listed = ListHosts([&names](const v1::HostState& h) { names[h.id()] = h.name(); });
  if (!listed.ok()) return listed;
  // Every stored block's first seq (all hosts): the next one ends a block's
  // key range in `events`. by_host holds one 24-byte key per block, no value.
  struct Block {
    uint64_t host_id;
    int64_t receive_us;
    uint64_t seq;
  };
  std::vector<Block> blocks;
  std::vector<uint64_t> starts;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kByHost)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() != 24) continue;
    blocks.push_back(
        {DecodeFixed64BE(key), keys::DecodeByHostTime(key), keys::DecodeByHostSeq(key)});
    starts.push_back(blocks.back().seq);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading by_host");
  std::sort(starts.begin(), starts.end());
  std::vector<std::string> bounds;  // begin, end of each block's range
  bounds.reserve(2 * blocks.size());
  for (const Block& b : blocks) {
    const auto next = std::upper_bound(starts.begin(), starts.end(), b.seq);
    bounds.push_back(keys::EventsKey(b.seq));
    bounds.push_back(keys::EventsKey(next != starts.end() ? *next : LastSeq() + 1));
  }
  std::vector<rocksdb::Range> ranges;
  ranges.reserve(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) ranges.emplace_back(bounds[2 * i], bounds[2 * i + 1]);
  std::vector<uint64_t> sizes(blocks.size());
  rocksdb::SizeApproximationOptions o;
  o.include_memtables = true;
  o.include_files = true;
  if (!ranges.empty()) {
    rocksdb::Status rs = db_->GetApproximateSizes(o, cf(kEvents), ranges.data(),
                                                  static_cast<int>(ranges.size()), sizes.data());
    if (!rs.ok()) return FromRocks(rs, "estimating the blocks' sizes");
  }
  // by_host is in (host id, time) order: each host's blocks come together, oldest first.
  std::vector<HostBlockBytes> out;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto name = names.find(blocks[i].host_id);
    if (name == names.end()) continue;  // a host state that did not parse (reported)
    if (out.empty() || out.back().host != name->second) out.push_back({name->second, {}});
    out.back().blocks.push_back({blocks[i].receive_us, sizes[i]});
  }
  return out;
}

Status RocksDbStore::FreeRemovedBlocks(uint64_t first_seq, uint64_t last_seq, uint64_t reserve) {
  // First the files that hold nothing but removed blocks: dropped whole,
  // with no new file written (a compaction first adds, and the disk is
  // full). Between two blocks still stored every `events` key is a removed
  // block's (each block has its by_host key), so those gaps are safe.
  std::vector<uint64_t> kept;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kByHost)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() != 24) continue;
    const uint64_t seq = keys::DecodeByHostSeq(key);
    if (seq >= first_seq && seq <= last_seq) kept.push_back(seq);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading by_host");
  std::sort(kept.begin(), kept.end());
  std::vector<std::string> bounds;
  uint64_t from = first_seq;
  for (uint64_t k : kept) {
    if (k > from) {
      bounds.push_back(keys::EventsKey(from));
      bounds.push_back(keys::EventsKey(k));
    }
    from = k + 1;
  }
  if (last_seq >= from) {
    bounds.push_back(keys::EventsKey(from));
    bounds.push_back(keys::EventsKey(last_seq + 1));
  }
  const std::vector<rocksdb::Slice> slices(bounds.begin(), bounds.end());
  std::vector<rocksdb::RangePtr> gaps;
  for (size_t i = 0; i + 1 < slices.size(); i += 2) gaps.emplace_back(&slices[i], &slices[i + 1]);
  Status s = FromRocks(rocksdb::DeleteFilesInRanges(db_.get(), cf(kEvents), gaps.data(),
                                                    gaps.size(), /*include_end=*/false),
                       "dropping the files of removed blocks");
  if (!s.ok()) return s;
  // Then the files the cuts only partly emptied, rewritten without the
  // removed blocks, when the disk has room above the reserve for all they
  // hold: a rewrite first adds what they keep before the old files go.
  const std::string eb = keys::EventsKey(first_seq), ee = keys::EventsKey(last_seq + 1);
  rocksdb::ColumnFamilyMetaData meta;
  db_->GetColumnFamilyMetaData(cf(kEvents), &meta);
  uint64_t overlapping = 0;
  for (const auto& level : meta.levels) {
    for (const auto& f : level.files) {
      if (f.largestkey >= eb && f.smallestkey < ee) overlapping += f.size;
    }
  }
  if (FreeDiskBytes(dir_).value_or(0) <= reserve + overlapping) return Status::Ok();
  const rocksdb::Slice b(eb), e(ee);
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocks(db_->CompactRange(co, cf(kEvents), &b, &e), "compacting events");
}

Result<bool> RocksDbStore::SettleAfterCuts(uint64_t first_seq, uint64_t last_seq,
                                           std::chrono::milliseconds timeout,
                                           const std::function<bool()>& stop) {
  if (read_only_) return Status::InvalidArgument("SettleAfterCuts on a read-only store");
  const auto until = std::chrono::steady_clock::now() + timeout;
  const uint64_t reserve = reserve_bytes_.load(std::memory_order_relaxed);
  // The write-ahead logs hold what no family has flushed yet: on a busy
  // store up to hundreds of MiB, kept alive by the family written least. A
  // flush of every family gives them back, and writes no more than the
  // memtables hold: it needs room for that, not the reserve.
  uint64_t memtables = 0;
  db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &memtables);
  if (FreeDiskBytes(dir_).value_or(0) > memtables + kFlushSlackBytes) {
    rocksdb::FlushOptions fo;
    fo.allow_write_stall = true;
    Status s = FromRocks(db_->Flush(fo, handles_), "flushing the memtables");
    if (!s.ok()) return s;
  }
  if (first_seq <= last_seq) {
    Status s = FreeRemovedBlocks(first_seq, last_seq, reserve);
    if (!s.ok()) return s;
  }
  // Flushes and automatic compactions still move the free space.
  for (;;) {
    uint64_t compactions = 0, flushes = 0;
    db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &compactions);
    db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &flushes);
    if (compactions == 0 && flushes == 0) return true;
    if (std::chrono::steady_clock::now() >= until || (stop && stop())) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status RocksDbStore::ExpireTimeIndex(int64_t before_us) {
  if (read_only_) return Status::InvalidArgument("ExpireTimeIndex on a read-only store");
  int64_t sec = before_us / 1000000;
  if (before_us < 0 && before_us % 1000000 != 0) --sec;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(
      db_->DeleteRange(wo, cf(kByTime), keys::ByTimeKey(INT64_MIN), keys::ByTimeKey(sec)),
      "removing expired by_time entries");
}

Result<uint64_t> RocksDbStore::FirstSeq() const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kEvents)));
  it->SeekToFirst();
  if (it->Valid()) return keys::DecodeSeq(it->key().ToStringView());
  if (!it->status().ok()) return FromRocks(it->status(), "reading the first block");
  return LastSeq() + 1;
}

std::vector<std::pair<std::string, uint64_t>> RocksDbStore::EngineStats() const {
  // In-memory counters: summed over the column families, except the
  // database-wide ones (per_cf false).
  struct Prop {
    const char* name;
    const char* property;
    bool per_cf;
  };
  static constexpr Prop kProps[] = {
      {"estimate_num_keys", "rocksdb.estimate-num-keys", true},
      {"live_sst_bytes", "rocksdb.live-sst-files-size", true},
      // Above live_sst_bytes: files compacted away that a reader still holds.
      {"total_sst_bytes", "rocksdb.total-sst-files-size", true},
      {"memtable_bytes", "rocksdb.cur-size-all-mem-tables", true},
      {"pending_compaction_bytes", "rocksdb.estimate-pending-compaction-bytes", true},
      {"running_compactions", "rocksdb.num-running-compactions", false},
      {"running_flushes", "rocksdb.num-running-flushes", false},
  };
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const Prop& p : kProps) {
    uint64_t total = 0;
    for (auto* h : handles_) {
      uint64_t v = 0;
      if (db_->GetIntProperty(h, p.property, &v)) total += v;
      if (!p.per_cf) break;
    }
    out.emplace_back(p.name, total);
  }
  // What the write-ahead logs hold on disk: given back once every family
  // they cover has flushed.
  rocksdb::VectorLogPtr wals;
  if (!read_only_ && db_->GetSortedWalFiles(wals).ok()) {
    uint64_t wal_bytes = 0;
    for (const auto& w : wals) wal_bytes += w->SizeFileBytes();
    out.emplace_back("wal_bytes", wal_bytes);
  }
  return out;
}

Status RocksDbStore::ListHosts(const std::function<void(const v1::HostState&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, cf(kHosts)));
  v1::HostState hs;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string position = "host " + EscapeInvalidUtf8(it->key().ToStringView());
    if (!ParseRecord(it->value(), &hs, "host state", position)) continue;
    fn(hs);
  }
  return FromRocks(it->status(), "listing hosts");
}

void RocksDbStore::ReadIssues::Report(StoreReadIssue issue) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (reported.size() >= kMaxRemembered) reported.clear();  // then report again, rarely
    if (!reported.insert(issue.record + '\0' + issue.position).second) return;
  }
  if (handler) handler(issue);
}

bool RocksDbStore::ParseRecord(const rocksdb::Slice& value, google::protobuf::Message* record,
                               const std::string& what, const std::string& position) const {
  const ParseOutcome outcome = ParseRepairingUtf8(value.ToStringView(), record);
  if (outcome == ParseOutcome::kClean) return true;
  StoreReadIssue issue;
  issue.record = what;
  issue.position = position;
  issue.repaired = outcome == ParseOutcome::kRepaired;
  read_issues_.Report(std::move(issue));
  return outcome == ParseOutcome::kRepaired;
}

bool RocksDbStore::ParseBlock(const rocksdb::Slice& key, const rocksdb::Slice& value,
                              v1::EventBlock* block) const {
  const ParseOutcome outcome = ParseRepairingUtf8(value.ToStringView(), block);
  if (outcome == ParseOutcome::kClean) return true;
  StoreReadIssue issue;
  issue.record = "event block";
  issue.first_seq = keys::DecodeSeq(key.ToStringView());
  issue.repaired = outcome == ParseOutcome::kRepaired;
  if (issue.repaired) {
    issue.last_seq = issue.first_seq + static_cast<uint64_t>(block->events_size()) - 1;
  } else {
    // The next block's first seq bounds this one's events.
    std::unique_ptr<rocksdb::Iterator> next(db_->NewIterator({}, cf(kEvents)));
    next->Seek(key);
    if (next->Valid()) next->Next();
    issue.last_seq = next->Valid() ? keys::DecodeSeq(next->key().ToStringView()) - 1 : LastSeq();
    block->Clear();
  }
  issue.position = "block " + std::to_string(issue.first_seq) + " (seqs " +
                   std::to_string(issue.first_seq) + "-" + std::to_string(issue.last_seq) + ")";
  read_issues_.Report(std::move(issue));
  return outcome == ParseOutcome::kRepaired;
}

Status RocksDbStore::CatchUp() {
  if (!read_only_) return Status::Ok();
  Status s = FromRocks(db_->TryCatchUpWithPrimary(), "catching up with the collector");
  if (!s.ok()) return s;
  return RecoverCounters();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir, StoreMode mode,
                                                StoreMemory memory) {
  return RocksDbStore::Open(dir, mode, memory);
}

}  // namespace trailkeep
