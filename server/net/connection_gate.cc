#include "server/net/connection_gate.h"

#include <list>
#include <map>
#include <mutex>

namespace trailkeep {

struct ConnectionGate::Entry {
  std::string peer;
  bool handshaking = true;
  bool authenticated = false;
  bool released = false;  // evicted: its counts are already gone
  std::function<void()> evict;
  std::list<std::shared_ptr<Entry>>::iterator in_waiting;  // valid while !authenticated
};

struct ConnectionGate::State {
  struct PerPeer {
    size_t open = 0;
    size_t handshaking = 0;
  };
  explicit State(ConnectionLimits l) : limits(l) {}

  // Drops `e`'s counts; mu held.
  void Release(Entry* e) {
    e->released = true;
    if (!e->authenticated) waiting.erase(e->in_waiting);
    --open;
    auto it = peers.find(e->peer);
    if (e->handshaking) --it->second.handshaking;
    if (--it->second.open == 0) peers.erase(it);
  }

  void EndHandshake(Entry* e) {
    if (e->released || !e->handshaking) return;
    e->handshaking = false;
    --peers[e->peer].handshaking;
  }

  const ConnectionLimits limits;
  mutable std::mutex mu;
  size_t open = 0;                            // GUARDED_BY(mu)
  std::map<std::string, PerPeer> peers;       // GUARDED_BY(mu)
  std::list<std::shared_ptr<Entry>> waiting;  // GUARDED_BY(mu) unauthenticated, oldest first
  uint64_t refused = 0;                       // GUARDED_BY(mu)
  uint64_t evicted = 0;                       // GUARDED_BY(mu)
};

ConnectionGate::Slot::Slot(std::shared_ptr<State> state, std::shared_ptr<Entry> entry)
    : state_(std::move(state)), entry_(std::move(entry)) {}

ConnectionGate::Slot::~Slot() {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!entry_->released) state_->Release(entry_.get());
}

void ConnectionGate::Slot::SetEvict(std::function<void()> evict) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!entry_->released) {
      entry_->evict = std::move(evict);
      return;
    }
  }
  if (evict) evict();
}

void ConnectionGate::Slot::HandshakeDone() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->EndHandshake(entry_.get());
}

void ConnectionGate::Slot::Authenticated() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->EndHandshake(entry_.get());
  if (entry_->released || entry_->authenticated) return;
  entry_->authenticated = true;
  state_->waiting.erase(entry_->in_waiting);
  entry_->evict = nullptr;
}

ConnectionGate::ConnectionGate(ConnectionLimits limits) : state_(std::make_shared<State>(limits)) {}

ConnectionGate::Admission ConnectionGate::Admit(const std::string& peer_address) {
  const ConnectionLimits& l = state_->limits;
  const size_t unauthenticated_share =
      l.max_connections > l.reserved_connections ? l.max_connections - l.reserved_connections : 1;
  Admission out;
  std::function<void()> evict;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    State& s = *state_;
    auto known = s.peers.find(peer_address);
    const State::PerPeer mine = known == s.peers.end() ? State::PerPeer{} : known->second;
    if (l.max_per_peer != 0 && mine.open >= l.max_per_peer) {
      out.refused =
          "the peer holds " + std::to_string(mine.open) + " connections (max_connections_per_peer)";
    } else if (l.max_handshakes_per_peer != 0 && mine.handshaking >= l.max_handshakes_per_peer) {
      out.refused = "the peer has " + std::to_string(mine.handshaking) +
                    " handshakes in progress (max_handshakes_per_peer)";
    } else if (s.waiting.size() >= unauthenticated_share || s.open >= l.max_connections) {
      if (s.waiting.empty()) {
        out.refused = "every connection slot is held by an authenticated client (max_connections)";
      } else {
        // Make room: the oldest unauthenticated connection goes.
        std::shared_ptr<Entry> victim = s.waiting.front();
        evict = std::move(victim->evict);
        s.Release(victim.get());
        ++s.evicted;
        out.evicted_another = true;
      }
    }
    if (!out.refused.empty()) {
      ++s.refused;
      return out;
    }
    auto entry = std::make_shared<Entry>();
    entry->peer = peer_address;
    entry->in_waiting = s.waiting.insert(s.waiting.end(), entry);
    ++s.open;
    auto& counts = s.peers[peer_address];
    ++counts.open;
    ++counts.handshaking;
    out.slot = std::make_unique<Slot>(state_, std::move(entry));
  }
  if (evict) evict();
  return out;
}

size_t ConnectionGate::open() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->open;
}

size_t ConnectionGate::unauthenticated() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->waiting.size();
}

uint64_t ConnectionGate::refused_total() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->refused;
}

uint64_t ConnectionGate::evicted_total() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->evicted;
}

}  // namespace trailkeep
