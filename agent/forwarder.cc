#include "agent/forwarder.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "agent/audisp_listener.h"
#include "agent/collector_link.h"
#include "agent/file_tailer.h"
#include "agent/inventory.h"
#include "agent/journal_reader.h"
#include "agent/message_builder.h"
#include "agent/spool.h"
#include "common/wire/hmac_chain.h"

namespace trailkeep::agent {

namespace net = boost::asio;
using boost::system::error_code;

namespace {

constexpr size_t kMaxBatchBytes = 4 << 20;
// What a line costs in the spool beyond its own bytes: header, chain and
// input elements, record framing (a little more than measured).
constexpr size_t kPerLineOverhead = 320;
// One Append (one fsync) at most this much: a batch that failed on a full
// disk is retried piecewise, so it fits once acknowledged segments are gone.
constexpr size_t kChunkBytes = 256 << 10;
constexpr int kMaxBatchesPerPoll = 8;
// The spool's checkpoint is written unsynced by every append (agent/spool.h)
// and synced at most this long after: what a power loss can take back.
constexpr std::chrono::seconds kCheckpointSyncInterval{1};

bool SamePositions(const std::vector<FilePosition>& a, const std::vector<FilePosition>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].input != b[i].input || a[i].path != b[i].path || a[i].dev != b[i].dev ||
        a[i].ino != b[i].ino || a[i].offset != b[i].offset || a[i].tail != b[i].tail ||
        a[i].cursor != b[i].cursor) {
      return false;
    }
  }
  return true;
}

}  // namespace

struct Forwarder::Impl {
  // One event waiting to be spooled.
  struct Item {
    MessageParts parts;
    std::string input;
    uint64_t dev = 0, ino = 0, offset_end = 0;
    bool from_audisp = false;
    uint64_t audisp_connection = 0;
    std::string cursor;  // a journal entry's
  };
  // What one poll produced; kept until all of it is spooled.
  struct Batch {
    std::deque<Item> items;
    std::vector<FilePosition> positions;  // the inputs' state after the whole batch
    size_t bytes = 0;
  };

  AgentConfig config;
  ClockPtr clock;
  std::string key;
  std::string key_id;         // KeyId(key)
  bool announce_key = false;  // the next spooled event names key_id
  std::string link_key_id;    // the key the link signs heartbeats with
  net::io_context io;
  net::signal_set signals{io, SIGTERM, SIGINT};
  net::signal_set hangup{io, SIGHUP};
  net::steady_timer poll_timer{io};
  std::unique_ptr<Spool> spool;
  std::vector<std::unique_ptr<FileTailer>> tailers;
  std::vector<std::unique_ptr<JournalReader>> journals;
  std::unique_ptr<InventoryWatcher> inventory;
  std::unique_ptr<CollectorLink> link;
  std::unique_ptr<AudispListener> audisp;
  std::optional<Batch> pending;  // the rest of a batch whose append failed
  bool paused = false;
  bool append_failing = false;
  bool stopping = false;
  std::chrono::steady_clock::time_point checkpoint_synced_at{};

  Batch Collect();
  bool SpoolBatch(Batch& batch);
  std::vector<FilePosition> PrefixPositions(const std::vector<SpoolEntry>& entries,
                                            const Batch& batch) const;
  void Tick();
  // Syncs the spool's checkpoint when it was written unsynced and the last
  // sync is kCheckpointSyncInterval ago (`always`: whenever it is unsynced).
  void SyncCheckpoint(bool always);
  void SchedulePoll();
  void Shutdown(int signal);
  void WaitHangup();
  // Takes `new_key` as the signing key; queues the KEY_ROTATED event.
  void SwitchKey(std::string new_key, const std::string& why);
  std::deque<Item> queued;  // agent events for the next batch (KEY_ROTATED)
};

Forwarder::Impl::Batch Forwarder::Impl::Collect() {
  Batch b;
  const int64_t now = clock->NowMicros();
  const size_t budget =
      static_cast<size_t>(std::min<uint64_t>(spool->room_bytes(), kMaxBatchBytes));
  for (auto& item : queued) {
    b.bytes += item.parts.msg.size() + kPerLineOverhead;
    b.items.push_back(std::move(item));
  }
  queued.clear();
  if (auto inv = inventory->Poll(now)) {
    b.bytes += inv->msg.size() + kPerLineOverhead;
    b.items.push_back({std::move(*inv), "", 0, 0, 0, false, 0, ""});
  }
  std::vector<TailedLine> lines;
  for (auto& t : tailers) {
    if (b.bytes >= budget) break;
    lines.clear();
    t->Poll(budget - b.bytes, kPerLineOverhead, &lines);
    const InputConfig& in = t->config();
    const LineSource source{in.name, in.kind, in.facility, in.severity};
    for (auto& l : lines) {
      b.bytes += l.text.size() + kPerLineOverhead;
      b.items.push_back(
          {PartsFromLine(l.text, source, now), in.name, l.dev, l.ino, l.offset_end, false, 0, ""});
    }
  }
  std::vector<JournalEntry> entries;
  for (auto& j : journals) {
    if (auto loss = j->TakeLoss()) {
      b.bytes += loss->msg.size() + loss->extra_sd.size() + kPerLineOverhead;
      b.items.push_back({std::move(*loss), "", 0, 0, 0, false, 0, ""});
    }
    if (b.bytes >= budget) break;
    entries.clear();
    j->Poll(budget - b.bytes, kPerLineOverhead, &entries);
    for (auto& e : entries) {
      b.bytes += e.bytes + kPerLineOverhead;
      b.items.push_back(
          {std::move(e.parts), j->config().name, 0, 0, 0, false, 0, std::move(e.cursor)});
    }
  }
  if (audisp && b.bytes < budget) {
    std::vector<AudispLine> taken;
    audisp->TakeLines((budget - b.bytes) / 2, &taken);
    const LineSource source{"audisp", InputKind::kAudit, config.audisp.facility,
                            config.audisp.severity};
    for (const auto& l : taken) {
      b.bytes += l.text.size() + kPerLineOverhead;
      b.items.push_back(
          {PartsFromLine(l.text, source, now), "audisp", 0, 0, 0, true, l.connection, ""});
    }
  }
  for (auto& t : tailers) t->AppendPositions(&b.positions);
  for (auto& j : journals) j->AppendPositions(&b.positions);
  return b;
}

// Positions after a prefix of the batch: the spooled ones, moved on by the
// prefix's lines. Files first seen later in the batch are absent (a restart
// reads them from 0); files closed later in the batch are still present.
std::vector<FilePosition> Forwarder::Impl::PrefixPositions(const std::vector<SpoolEntry>& entries,
                                                           const Batch& batch) const {
  std::vector<FilePosition> out = spool->positions();
  for (const auto& e : entries) {
    if (!e.cursor.empty()) {
      auto it = std::find_if(out.begin(), out.end(), [&](const FilePosition& p) {
        return p.input == e.input && p.dev == 0 && p.ino == 0;
      });
      if (it == out.end()) {
        out.push_back({e.input, "", 0, 0, 0, "", ""});
        it = out.end() - 1;
      }
      it->cursor = e.cursor;
      continue;
    }
    if (e.file_dev == 0 && e.file_ino == 0) continue;
    auto same = [&](const FilePosition& p) {
      return p.input == e.input && p.dev == e.file_dev && p.ino == e.file_ino;
    };
    auto it = std::find_if(out.begin(), out.end(), same);
    if (it == out.end()) {
      auto known = std::find_if(batch.positions.begin(), batch.positions.end(), same);
      out.push_back({e.input, known != batch.positions.end() ? known->path : "", e.file_dev,
                     e.file_ino, 0, "", ""});
      it = out.end() - 1;
    }
    it->offset = e.offset_end;
    it->tail.clear();  // unknown: read back from the file after a restart
  }
  return out;
}

// Signs and appends the batch in chunks, each durable before the next; true
// when all of it is spooled. On failure the unspooled rest stays in *b.
bool Forwarder::Impl::SpoolBatch(Batch& b) {
  if (b.items.empty()) {
    if (SamePositions(b.positions, spool->positions())) return true;
    Status s = spool->Append({}, spool->head_mac(), b.positions);
    return s.ok();
  }
  while (!b.items.empty()) {
    std::vector<SpoolEntry> entries;
    std::vector<AudispLine> acks;
    ChainPosition chain;
    chain.enterprise_number = config.enterprise_number;
    chain.epoch = spool->epoch();
    chain.seq = spool->next_seq();
    chain.prev_mac = spool->head_mac();
    std::string mac;
    size_t bytes = 0;
    for (size_t i = 0; i < b.items.size() && bytes < kChunkBytes; ++i) {
      const Item& item = b.items[i];
      SpoolEntry e;
      e.seq = chain.seq;
      e.input = item.input;
      e.file_dev = item.dev;
      e.file_ino = item.ino;
      e.offset_end = item.offset_end;
      e.cursor = item.cursor;
      e.key_id = key_id;
      // The first event of a spool, and the first under a new key, name it.
      if (announce_key || chain.seq == 1) chain.key_id = key_id;
      e.message = SignEvent(key, item.parts, config.host, chain, &mac);
      chain.key_id.clear();
      announce_key = false;
      bytes += e.message.size();
      entries.push_back(std::move(e));
      if (item.from_audisp) acks.push_back({item.audisp_connection, ""});
      chain.prev_mac = mac;
      ++chain.seq;
    }
    const bool last = entries.size() == b.items.size();
    Status s =
        spool->Append(entries, chain.prev_mac, last ? b.positions : PrefixPositions(entries, b));
    if (!s.ok()) {
      announce_key = announce_key || entries.front().key_id != spool->head_key_id();
      if (!append_failing) {
        spdlog::error("spool append failed: {}; inputs paused, retrying (nothing is dropped)",
                      s.message());
      }
      append_failing = true;
      return false;
    }
    if (link_key_id != key_id && link) {
      link->SetHeartbeatKey(key);  // the head is now signed with it
      link_key_id = key_id;
    }
    if (append_failing) spdlog::info("spool appends work again: inputs resume");
    append_failing = false;
    b.items.erase(b.items.begin(), b.items.begin() + static_cast<std::ptrdiff_t>(entries.size()));
    if (audisp && !acks.empty()) audisp->Acknowledge(acks);
    if (link) link->Wake();
  }
  return true;
}

void Forwarder::Impl::Tick() {
  if (pending) {
    if (!SpoolBatch(*pending)) return;
    pending.reset();
  }
  if (spool->Full()) {
    if (!paused) {
      spdlog::warn(
          "spool full ({} bytes, spool_max_bytes {}): inputs paused until the collector "
          "acknowledges; nothing is dropped",
          spool->size_bytes(), config.spool_max_bytes);
      paused = true;
      if (audisp) audisp->SetPaused(true);
    }
    return;
  }
  if (paused) {
    spdlog::info("spool has room again ({} bytes): inputs resume", spool->size_bytes());
    paused = false;
    if (audisp) audisp->SetPaused(false);
  }
  // A full batch means more is waiting: take a few more now.
  for (int round = 0; round < kMaxBatchesPerPoll && !spool->Full(); ++round) {
    const size_t budget =
        static_cast<size_t>(std::min<uint64_t>(spool->room_bytes(), kMaxBatchBytes));
    Batch b = Collect();
    const bool full = b.bytes >= budget;
    if (!SpoolBatch(b)) {
      pending = std::move(b);
      return;
    }
    if (!full) break;
  }
}

void Forwarder::Impl::SyncCheckpoint(bool always) {
  if (!spool->checkpoint_unsynced()) return;
  const auto now = std::chrono::steady_clock::now();
  if (!always && now - checkpoint_synced_at < kCheckpointSyncInterval) return;
  checkpoint_synced_at = now;
  Status s = spool->SyncCheckpoint();
  if (!s.ok()) spdlog::warn("spool checkpoint not synced: {}", s.message());
}

void Forwarder::Impl::SchedulePoll() {
  poll_timer.expires_after(std::chrono::milliseconds(config.poll_interval_ms));
  poll_timer.async_wait([this](error_code ec) {
    if (ec || stopping) return;
    Tick();
    SyncCheckpoint(false);
    SchedulePoll();
  });
}

void Forwarder::Impl::SwitchKey(std::string new_key, const std::string& why) {
  const std::string new_id = KeyId(new_key);
  spdlog::info("HMAC key {} ({}): it signs from the next event on (seq {}); previous key {}",
               new_id, why, spool->next_seq(), key_id.empty() ? "none" : key_id);
  queued.push_back({KeyRotatedParts(new_id, spool->head_key_id(), clock->NowMicros()), "", 0, 0, 0,
                    false, 0, ""});
  key = std::move(new_key);
  key_id = new_id;
  announce_key = true;
}

void Forwarder::Impl::WaitHangup() {
  hangup.async_wait([this](error_code ec, int) {
    if (ec || stopping) return;
    auto loaded = LoadHmacKey(config.hmac_key_file);
    if (!loaded.ok()) {
      spdlog::error("SIGHUP: {}; still signing with key {}", loaded.status().message(), key_id);
    } else if (KeyId(loaded.value()) == key_id) {
      spdlog::info("SIGHUP: HMAC key {} unchanged", key_id);
    } else {
      SwitchKey(std::move(loaded).value(), "SIGHUP, " + config.hmac_key_file);
      Tick();
    }
    WaitHangup();
  });
}

void Forwarder::Impl::Shutdown(int signal) {
  if (stopping) return;
  spdlog::info("signal {}: spooling what is read, then stopping", signal);
  Tick();  // flush what the inputs have now
  SyncCheckpoint(true);
  stopping = true;
  poll_timer.cancel();
  error_code ignored;
  signals.cancel(ignored);
  hangup.cancel(ignored);
  if (audisp) audisp->Stop();
  if (link) link->Stop();
}

Forwarder::Forwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Forwarder::~Forwarder() = default;

Result<std::unique_ptr<Forwarder>> Forwarder::Create(AgentConfig config, ClockPtr clock) {
  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->clock = std::move(clock);
  const AgentConfig& c = impl->config;

  auto key = LoadHmacKey(c.hmac_key_file);
  if (!key.ok()) return key.status();
  std::string loaded = std::move(key).value();

  auto spool = Spool::Open({c.spool_dir, c.spool_max_bytes, c.segment_bytes}, *impl->clock);
  if (!spool.ok()) return spool.status();
  impl->spool = std::move(spool).value();
  // A spool whose head another key signed (the key file was replaced while
  // the agent was down): the switch is announced by the first event. A
  // spool older than key ids ("") says nothing: no switch.
  const std::string& head_key = impl->spool->head_key_id();
  if (impl->spool->last_seq() != 0 && !head_key.empty() && head_key != KeyId(loaded)) {
    impl->SwitchKey(std::move(loaded), "at start, " + c.hmac_key_file);
  } else {
    impl->key_id = KeyId(loaded);
    impl->key = std::move(loaded);
  }
  impl->link_key_id = impl->key_id;

  for (const auto& in : c.inputs) {
    if (in.kind == InputKind::kJournal) {
      std::optional<FilePosition> saved;
      for (const auto& p : impl->spool->positions()) {
        if (p.input == in.name && p.dev == 0 && p.ino == 0) saved = p;
      }
      auto reader =
          JournalReader::Open(in, std::move(saved), c.enterprise_number, impl->clock->NowMicros());
      if (!reader.ok()) return reader.status();
      impl->journals.push_back(std::move(reader).value());
      continue;
    }
    std::vector<FilePosition> saved;
    for (const auto& p : impl->spool->positions()) {
      if (p.input == in.name) saved.push_back(p);
    }
    impl->tailers.push_back(
        std::make_unique<FileTailer>(in, std::move(saved), impl->spool->created(), impl->clock));
  }
  impl->inventory = std::make_unique<InventoryWatcher>(c.identity_files);

  LinkOptions lo;
  lo.collector = c.collector;
  lo.host = c.host;
  lo.enterprise_number = c.enterprise_number;
  lo.heartbeat_interval_ms = c.heartbeat_interval_ms;
  lo.hmac_key = impl->key;
  lo.clock = impl->clock;
  auto link = CollectorLink::Create(impl->io, std::move(lo), impl->spool.get());
  if (!link.ok()) return link.status();
  impl->link = std::move(link).value();

  if (!c.audisp.socket.empty()) {
    auto listener = AudispListener::Create(impl->io, c.audisp.socket, nullptr);
    if (!listener.ok()) return listener.status();
    impl->audisp = std::move(listener).value();
  }
  return std::unique_ptr<Forwarder>(new Forwarder(std::move(impl)));
}

int Forwarder::Run() {
  Impl& m = *impl_;
  std::string inputs;
  for (const auto& in : m.config.inputs) {
    const bool journal = in.kind == InputKind::kJournal;
    inputs += (inputs.empty() ? "" : ", ") + in.name + "=" +
              (journal ? (in.journal_dir.empty() ? "journal" : in.journal_dir) : in.path) +
              (in.kind == InputKind::kAudit ? " (audit)"
               : journal                    ? " (journal)"
                                            : "");
  }
  if (m.audisp)
    inputs += (inputs.empty() ? "" : ", ") + std::string("audisp=") + m.config.audisp.socket;
  spdlog::info(
      "trailkeep forward: host {}, spool {} ({} epoch {}, next seq {}, {} bytes spooled, "
      "oldest unacknowledged seq {}), collector {}, inputs: {}",
      m.config.host, m.config.spool_dir, m.spool->created() ? "new," : "existing,",
      m.spool->epoch(), m.spool->next_seq(), m.spool->size_bytes(), m.spool->first_seq(),
      m.config.collector.address, inputs);

  m.signals.async_wait([&m](error_code ec, int signal) {
    if (!ec) m.Shutdown(signal);
  });
  m.WaitHangup();
  m.Tick();  // inventory and the inputs' initial positions, at once
  m.SchedulePoll();
  m.link->Start();
  if (m.audisp) m.audisp->Start();
  m.io.run();
  spdlog::info("trailkeep forward: stopped (spool head seq {}, {} bytes spooled)",
               m.spool->last_seq(), m.spool->size_bytes());
  return 0;
}

}  // namespace trailkeep::agent
