#include "server/net/connection_gate.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

using Slot = std::unique_ptr<ConnectionGate::Slot>;

Slot Take(ConnectionGate* gate, const std::string& peer, int* evicted = nullptr) {
  auto a = gate->Admit(peer);
  EXPECT_TRUE(a.slot) << peer << ": " << a.refused;
  if (a.slot && evicted != nullptr) a.slot->SetEvict([evicted] { ++*evicted; });
  return std::move(a.slot);
}

TEST(ConnectionGateTest, OnePeerCannotTakeEverySlot) {
  ConnectionGate gate({/*max_connections=*/100, /*reserved=*/10, /*per_peer=*/4,
                       /*handshakes_per_peer=*/2});
  std::vector<Slot> held;
  held.push_back(Take(&gate, "10.0.0.1"));
  held.push_back(Take(&gate, "10.0.0.1"));
  auto third = gate.Admit("10.0.0.1");  // two still handshaking
  EXPECT_FALSE(third.slot);
  EXPECT_NE(third.refused.find("max_handshakes_per_peer"), std::string::npos) << third.refused;
  held[0]->HandshakeDone();
  held[1]->HandshakeDone();
  held.push_back(Take(&gate, "10.0.0.1"));
  held.back()->HandshakeDone();
  held.push_back(Take(&gate, "10.0.0.1"));
  auto fifth = gate.Admit("10.0.0.1");
  EXPECT_FALSE(fifth.slot);
  EXPECT_NE(fifth.refused.find("max_connections_per_peer"), std::string::npos) << fifth.refused;
  // Other peers are not affected.
  held.push_back(Take(&gate, "10.0.0.2"));
  EXPECT_EQ(gate.refused_total(), 2u);
  // A closed connection frees its place.
  held.erase(held.begin());
  held.push_back(Take(&gate, "10.0.0.1"));
  EXPECT_EQ(gate.open(), 5u);
}

TEST(ConnectionGateTest, TheOldestUnauthenticatedConnectionMakesRoom) {
  ConnectionGate gate({/*max_connections=*/6, /*reserved=*/2, /*per_peer=*/0,
                       /*handshakes_per_peer=*/0});
  int evicted[5] = {};
  std::vector<Slot> held;
  for (int i = 0; i < 4; ++i)
    held.push_back(Take(&gate, "10.0.0." + std::to_string(i), &evicted[i]));
  EXPECT_EQ(gate.unauthenticated(), 4u);  // the unauthenticated share (6 - 2) is full
  held.push_back(Take(&gate, "10.0.1.1", &evicted[4]));
  EXPECT_EQ(evicted[0], 1);  // the oldest went
  EXPECT_EQ(evicted[1] + evicted[2] + evicted[3], 0);
  EXPECT_EQ(gate.unauthenticated(), 4u);
  EXPECT_EQ(gate.evicted_total(), 1u);
  held[0].reset();  // the evicted session ends later: nothing counted twice
  EXPECT_EQ(gate.open(), 4u);
}

TEST(ConnectionGateTest, TheReserveIsForAuthenticatedConnections) {
  ConnectionGate gate({/*max_connections=*/4, /*reserved=*/2, /*per_peer=*/0,
                       /*handshakes_per_peer=*/0});
  int evicted[8] = {};
  std::vector<Slot> held;
  // Two clients authenticate; two idle ones fill the unauthenticated share.
  held.push_back(Take(&gate, "10.0.0.1", &evicted[0]));
  held.back()->Authenticated();
  held.push_back(Take(&gate, "10.0.0.2", &evicted[1]));
  held.back()->Authenticated();
  held.push_back(Take(&gate, "10.0.0.3", &evicted[2]));
  held.push_back(Take(&gate, "10.0.0.4", &evicted[3]));
  EXPECT_EQ(gate.open(), 4u);
  // A newcomer pushes out the oldest idle one, never an authenticated one.
  held.push_back(Take(&gate, "10.0.0.5", &evicted[4]));
  EXPECT_EQ(evicted[0] + evicted[1], 0);
  EXPECT_EQ(evicted[2], 1);
  // Once it authenticates, the slots are all held by identities: refused.
  held[3]->Authenticated();
  held[4]->Authenticated();
  auto refused = gate.Admit("10.0.0.6");
  EXPECT_FALSE(refused.slot);
  EXPECT_NE(refused.refused.find("authenticated"), std::string::npos) << refused.refused;
  held[0].reset();
  held.push_back(Take(&gate, "10.0.0.6", &evicted[5]));
}

TEST(ConnectionGateTest, AnEvictCallbackSetLateStillRuns) {
  ConnectionGate gate({/*max_connections=*/2, /*reserved=*/1, /*per_peer=*/0,
                       /*handshakes_per_peer=*/0});
  auto first = gate.Admit("10.0.0.1");
  auto second = gate.Admit("10.0.0.2");  // evicts the first before it set its callback
  ASSERT_TRUE(first.slot && second.slot);
  EXPECT_TRUE(second.evicted_another);
  int evicted = 0;
  first.slot->SetEvict([&] { ++evicted; });
  EXPECT_EQ(evicted, 1);
  first.slot->Authenticated();  // too late: it is gone
  EXPECT_EQ(gate.open(), 1u);
  EXPECT_EQ(gate.unauthenticated(), 1u);
}

}  // namespace
}  // namespace trailkeep
