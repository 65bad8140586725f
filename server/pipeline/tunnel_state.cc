#include "server/pipeline/tunnel_state.h"

#include <charconv>
#include <cstdint>
#include <string_view>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// A parameter of the collector's own structured-data element ("" if absent).
std::string Param(const v1::Event& e, std::string_view name) {
  for (const auto& sd : e.structured_data()) {
    if (sd.id().rfind("trailkeep@", 0) != 0) continue;
    for (const auto& p : sd.params()) {
      if (p.name() == name) return p.value();
    }
  }
  return "";
}

int64_t IntParam(const v1::Event& e, std::string_view name) {
  const std::string v = Param(e, name);
  int64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);  // 0 when absent or malformed
  return n;
}

bool IsTunnelMsgId(const std::string& msgid) {
  return msgid == "TUNNEL_INITIATED" || msgid == "TUNNEL_TERMINATED" || msgid == "TUNNEL_FAILED" ||
         msgid == "SSH_SESSION_FAILED";
}

}  // namespace

std::string TunnelEventNode(const v1::Event& e) {
  if (e.transport() != v1::TRANSPORT_SELF || !IsTunnelMsgId(e.msgid())) return "";
  return Param(e, "tunnel");
}

void ApplyTunnelEvent(const v1::Event& e, v1::TunnelState* t) {
  const int64_t at = e.receive_time_us();
  const std::string endpoint = Param(e, "ssh_endpoint");
  if (!endpoint.empty()) t->set_endpoint(endpoint);
  const std::string bind = Param(e, "remote_bind");
  if (!bind.empty()) t->set_remote_bind(bind);
  if (e.msgid() == "TUNNEL_INITIATED") {
    t->set_state(v1::TunnelState::STATE_UP);
    t->set_since_us(at);
    t->set_sessions(t->sessions() + 1);
    t->set_consecutive_failures(0);
    t->set_next_attempt_us(0);
    return;
  }
  if (e.msgid() == "TUNNEL_TERMINATED" && Param(e, "state") == "stopped") {
    t->set_state(v1::TunnelState::STATE_STOPPED);
    t->set_since_us(at);
    t->set_next_attempt_us(0);
    return;
  }
  // Lost (TUNNEL_TERMINATED) or failed to come up: down since the first
  // failure, retrying.
  if (t->state() != v1::TunnelState::STATE_RETRYING) t->set_since_us(at);
  t->set_state(v1::TunnelState::STATE_RETRYING);
  const std::string reason = Param(e, "reason");
  t->set_last_error(reason.empty() ? e.msg() : reason);
  t->set_last_error_us(at);
  t->set_failures(t->failures() + 1);
  const int64_t consecutive = IntParam(e, "consecutive_failures");
  t->set_consecutive_failures(consecutive > 0 ? static_cast<uint32_t>(consecutive)
                                              : t->consecutive_failures() + 1);
  const int64_t retry_ms = IntParam(e, "retry_in_ms");
  t->set_next_attempt_us(retry_ms > 0 ? at + retry_ms * 1000 : 0);
}

bool ReceivedThroughTunnel(const v1::Event& e) {
  if (e.has_audit() || e.host().empty()) return false;
  // An agent: its TLS session came through the tunnel (Peer.tunnel).
  if (e.peer().tunnel() == e.host()) return true;
  // audisp-remote: the port-60 session bound the channel to the node.
  return e.transport() == v1::TRANSPORT_AUDIT_PORT60 && e.peer().bound_host() == e.host();
}

}  // namespace trailkeep
