// The hello of a trailkeep agent on port 60 (docs/formats/agent_wire.md,
// "Over port 60"). A node that accepts no inbound connection but SSH runs
// its agent with transport = "port60": it connects to the reverse tunnel's
// far end (127.0.0.1:60 on the node), sends kAgentHello, waits for
// kAgentHelloAccepted, then runs the usual TLS session (mutual TLS, ALPN
// trailkeep/1) inside the tunnel. Its first byte, NUL, starts neither an
// auditd managed frame (FE 00 00 FF) nor a text record, so the collector's
// port-60 listener tells the agent and audisp-remote apart from it.
#pragma once

#include <string_view>

namespace trailkeep {

inline constexpr std::string_view kAgentHello{"\0trailkeep/1 port60\n", 20};
inline constexpr std::string_view kAgentHelloAccepted{"\0trailkeep/1 ok\n", 16};

// What the first bytes a port-60 listener received are: not a hello (no NUL
// first: auditd's managed frames or text records follow), a prefix of the
// hello (read more), the whole hello (an agent, which sends nothing more
// before the answer), or something else starting with NUL (refused).
enum class Port60Start { kNotHello, kNeedMore, kAgent, kBadHello };

constexpr Port60Start ClassifyPort60Start(std::string_view first) {
  if (first.empty()) return Port60Start::kNeedMore;
  if (first.front() != '\0') return Port60Start::kNotHello;
  if (first.size() < kAgentHello.size() && kAgentHello.starts_with(first)) {
    return Port60Start::kNeedMore;
  }
  return first == kAgentHello ? Port60Start::kAgent : Port60Start::kBadHello;
}

}  // namespace trailkeep
