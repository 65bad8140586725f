#include "server/pipeline/tunnel_state_stage.h"

#include <map>
#include <string>

#include "common/base/utf8.h"
#include "server/pipeline/tunnel_state.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

void TunnelStateStage::Prepare(std::vector<v1::Event>* events, CommitExtras* extras) {
  std::map<std::string, v1::HostState> touched;  // by node, as the store files it
  // The node's state as of the last commit plus this batch so far; null when
  // it cannot be read (then this batch does not move it, rather than
  // overwrite what is stored with a fresh state).
  const auto state_of = [&](const std::string& node) -> v1::TunnelState* {
    const std::string name = EscapeInvalidUtf8(node);  // as the store files the events' host
    auto it = touched.find(name);
    if (it == touched.end()) {
      auto stored = store_->GetHostState(name);
      if (!stored.ok()) return nullptr;
      v1::HostState hs;
      hs.set_name(name);
      if (stored.value()) *hs.mutable_tunnel() = stored.value()->tunnel();
      it = touched.emplace(name, std::move(hs)).first;
    }
    return it->second.mutable_tunnel();
  };
  // Counted first, then the tunnel events in ingest order: the two touch
  // different fields, so this is the order the events are stored in.
  for (const v1::Event& e : *events) {
    if (!ReceivedThroughTunnel(e)) continue;
    if (v1::TunnelState* t = state_of(e.host())) t->set_events_received(t->events_received() + 1);
  }
  for (const v1::Event& e : *events) {
    const std::string node = TunnelEventNode(e);
    if (node.empty()) continue;
    if (v1::TunnelState* t = state_of(node)) ApplyTunnelEvent(e, t);
  }
  for (auto& [name, hs] : touched) extras->tunnel_states.push_back(std::move(hs));
}

}  // namespace trailkeep
