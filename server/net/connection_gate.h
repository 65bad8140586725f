// ConnectionGate: who may hold a listener's connections, decided at accept,
// before any TLS, by peer address.
//
// A connection is refused when its peer address already holds
// max_per_peer open connections or max_handshakes_per_peer connections
// still in the TLS handshake: one address cannot take the listener for
// itself, however many sockets it opens.
//
// Connections that have not proved who they are ("unauthenticated": in the
// handshake, or handshaken without a verified client certificate and before
// a request with valid credentials) may hold at most max_connections -
// reserved_connections slots; the reserve is for authenticated connections
// only. When that share, or the whole, is full, the oldest unauthenticated
// connection is evicted (its evict callback runs) to make room: a flood from
// many addresses only pushes out its own older sockets and newcomers get the
// time that takes to authenticate. Authenticated connections are never
// evicted; when they fill every slot, newcomers are refused.
//
// Sans-I/O and thread-safe. Admit() runs the evict callback of a victim on
// the calling thread, outside the gate's lock: the callback must only post
// work to the victim's own executor. The gate's state lives as long as its
// last Slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace trailkeep {

struct ConnectionLimits {
  size_t max_connections = 256;
  size_t reserved_connections = 32;    // only for authenticated connections
  size_t max_per_peer = 32;            // open connections per peer address; 0 = no limit
  size_t max_handshakes_per_peer = 8;  // 0 = no limit
};

class ConnectionGate {
 public:
  struct State;
  struct Entry;

  // One admitted connection's place; releasing it (destruction) frees it.
  class Slot {
   public:
    explicit Slot(std::shared_ptr<State> state, std::shared_ptr<Entry> entry);
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    // What runs when the gate evicts this connection; runs at once when it
    // was evicted before this call.
    void SetEvict(std::function<void()> evict);
    void HandshakeDone();
    // The connection proved an identity: it may use the reserve and is
    // never evicted. Implies HandshakeDone().
    void Authenticated();

   private:
    std::shared_ptr<State> state_;
    std::shared_ptr<Entry> entry_;
  };

  struct Admission {
    std::unique_ptr<Slot> slot;    // null when refused
    std::string refused;           // why, for the record ("" when admitted)
    bool evicted_another = false;  // the oldest unauthenticated connection made room
  };

  explicit ConnectionGate(ConnectionLimits limits);
  Admission Admit(const std::string& peer_address);

  size_t open() const;
  size_t unauthenticated() const;
  uint64_t refused_total() const;
  uint64_t evicted_total() const;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace trailkeep
