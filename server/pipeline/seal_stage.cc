#include "server/pipeline/seal_stage.h"

#include <algorithm>

#include <openssl/crypto.h>

#include "common/event/proto_utf8.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace {

constexpr char kTickMsgId[] = "SEAL_TICK";

// COLLECTOR_STOP carries the heads as a tick does: a cleanly stopped store
// ends with every head sealed, without one more event.
bool IsStop(const v1::Event& e) {
  return e.transport() == v1::TRANSPORT_SELF && e.msgid() == "COLLECTOR_STOP" && !e.has_seal_tick();
}

}  // namespace

Result<SealStage::Opened> SealStage::Open(Store* store, const std::string& state_path,
                                          const std::string& collector_host, ClockPtr clock) {
  auto read = ReadSealStateFile(state_path);
  if (!read.ok()) return read.status();
  SealState state = std::move(read).value();

  std::vector<v1::SealHead> heads;
  uint32_t highest_chain = 0;
  v1::SealHead collector;
  Status listed = store->ListHosts([&](const v1::HostState& hs) {
    if (hs.seal_seq() == 0) return;
    v1::SealHead h;
    h.set_host(hs.name());
    h.set_chain(hs.seal_chain());
    h.set_seq(hs.seal_seq());
    h.set_mac(hs.seal_mac());
    highest_chain = std::max(highest_chain, hs.seal_chain());
    if (hs.name() == collector_host) collector = h;
    heads.push_back(std::move(h));
  });
  if (!listed.ok()) return listed;

  Opened out;
  if (heads.empty() && state.tick_seq == 0) {
    out.first_start = true;  // chain state.chain from seq 1
  } else if (highest_chain == state.chain &&
             (state.tick_seq == 0 ||
              (collector.chain() == state.chain && collector.seq() >= state.tick_seq))) {
    // The store holds everything up to the state's last tick: continue.
  } else {
    out.new_chain = true;
    if (heads.empty()) {
      out.reason = "the store holds no seal heads but the seal state has sealed up to tick seq " +
                   std::to_string(state.tick_seq) + " (a replaced store?)";
    } else if (collector.chain() != state.chain) {
      out.reason = "the store's seal chain " + std::to_string(collector.chain()) +
                   " is not the seal state's chain " + std::to_string(state.chain) +
                   " (restored from a backup, or a new verification key)";
    } else {
      out.reason = "the store's collector head (seq " + std::to_string(collector.seq()) +
                   ") is older than the seal state's last tick (seq " +
                   std::to_string(state.tick_seq) + "): restored from a backup?";
    }
    out.old_heads = heads;
    state.chain = std::max(state.chain, highest_chain) + 1;
    state.tick_seq = 0;
  }
  state.StepTo(state.schedule.PeriodAt(clock->NowMicros()));
  if (Status w = WriteSealStateFile(state_path, state); !w.ok()) return w;
  out.stage = std::unique_ptr<SealStage>(
      new SealStage(state_path, collector_host, std::move(clock), std::move(state)));
  if (!out.new_chain) {
    for (auto& h : heads) {
      if (h.chain() == out.stage->chain())
        out.stage->chains_.SetHead(h.host(), {h.chain(), h.seq(), h.mac()});
    }
  }
  return out;
}

SealStage::SealStage(std::string state_path, std::string collector_host, ClockPtr clock,
                     SealState state)
    : state_path_(std::move(state_path)),
      collector_host_(std::move(collector_host)),
      clock_(std::move(clock)),
      state_(std::move(state)),
      chains_(state_.chain) {}

bool SealStage::IsTickRequest(const v1::Event& e) {
  return e.transport() == v1::TRANSPORT_SELF && e.msgid() == kTickMsgId && !e.has_seal_tick();
}

v1::Event SealStage::MakeTick(int64_t now_us) const {
  v1::Event e;
  e.set_receive_time_us(now_us);
  e.set_event_time_us(now_us);
  e.set_host(collector_host_);
  e.set_hostname(collector_host_);
  e.set_transport(v1::TRANSPORT_SELF);
  e.set_format(v1::FORMAT_INTERNAL);
  e.set_pri(13 * 8 + 5);  // audit.notice, as the collector's routine events
  e.set_version(1);
  e.set_app_name("trailkeepd");
  e.set_msgid(kTickMsgId);
  e.set_msg("seal tick");
  e.set_integrity(v1::INTEGRITY_UNSIGNED);
  return e;
}

void SealStage::FillTick(v1::Event* tick, uint64_t period) const {
  v1::SealTick* t = tick->mutable_seal_tick();
  t->set_period(period);
  for (auto& h : chains_.Heads()) *t->add_heads() = std::move(h);
}

void SealStage::Prepare(std::vector<v1::Event>* events, CommitExtras* extras) {
  pending_ = state_;
  write_state_ = false;
  const uint64_t now_period = state_.schedule.PeriodAt(clock_->NowMicros());
  size_t first = 0;
  if (now_period > pending_.period) {
    // Close the period: a tick with every head, sealed with the old key,
    // first in the batch so the collector's chain keeps batch order.
    auto req = std::find_if(events->begin(), events->end(), IsTickRequest);
    v1::Event tick;
    if (req != events->end()) {
      tick = std::move(*req);
      events->erase(req);
    } else {
      tick = MakeTick(clock_->NowMicros());
      ++extras->events_added;
    }
    MakeStringsValidUtf8(&tick);
    FillTick(&tick, pending_.period);
    chains_.Seal(&tick, pending_.key, pending_.period);
    pending_.tick_seq = tick.seal().seq();
    events->insert(events->begin(), std::move(tick));
    pending_.StepTo(now_period);
    write_state_ = true;
    first = 1;
  }
  for (size_t i = first; i < events->size(); ++i) {
    v1::Event& e = (*events)[i];
    // Sealed as the store will write it (it escapes invalid UTF-8 too).
    MakeStringsValidUtf8(&e);
    const bool tick = IsTickRequest(e) || (IsStop(e) && e.host() == collector_host_);
    if (tick) FillTick(&e, pending_.period);
    chains_.Seal(&e, pending_.key, pending_.period);
    if (tick && e.host() == collector_host_) {
      pending_.tick_seq = e.seal().seq();
      write_state_ = true;
    }
  }
}

void SealStage::Committed() {
  chains_.Commit();
  if (!write_state_) return;
  write_state_ = false;
  OPENSSL_cleanse(state_.key.data(), state_.key.size());
  chains_.ForgetKey();  // its states would MAC as the erased key does
  state_ = std::move(pending_);
  pending_ = SealState{};
  Status w = WriteSealStateFile(state_path_, state_);
  state_error_ = w.ok() ? "" : w.ToString();
}

void SealStage::Failed() {
  chains_.Abort();
  chains_.ForgetKey();
  OPENSSL_cleanse(pending_.key.data(), pending_.key.size());
  pending_ = SealState{};
  write_state_ = false;
}

}  // namespace trailkeep
