#include "server/app/tunnel_metrics.h"

#include <cstdint>
#include <functional>

namespace trailkeep {

void AppendTunnelMetrics(const std::vector<TunnelStatus>& tunnels, std::vector<Metric>* out) {
  struct Spec {
    const char* name;
    const char* help;
    const char* type;
    std::function<double(const TunnelStatus&)> value;
  };
  const auto d = [](uint64_t v) { return static_cast<double>(v); };
  const Spec specs[] = {
      {"tunnel_up", "1 while the reverse SSH tunnel's remote forward is granted", "gauge",
       [](const TunnelStatus& s) { return s.state == "up" ? 1.0 : 0.0; }},
      {"tunnel_consecutive_failures", "failed attempts since the tunnel was last up", "gauge",
       [&](const TunnelStatus& s) { return d(s.consecutive_failures); }},
      {"tunnel_sessions_total", "SSH sessions that reached up", "counter",
       [&](const TunnelStatus& s) { return d(s.sessions); }},
      {"tunnel_channels_open", "forwarded connections being served", "gauge",
       [&](const TunnelStatus& s) { return d(s.channels_open); }},
      {"tunnel_channels_total", "forwarded connections accepted", "counter",
       [&](const TunnelStatus& s) { return d(s.channels_total); }},
      {"tunnel_channels_failed_total",
       "forwarded connections closed because their forward_to relay could not connect", "counter",
       [&](const TunnelStatus& s) { return d(s.channels_failed); }},
      {"tunnel_bytes_from_node_total", "bytes received from the node through the tunnel", "counter",
       [&](const TunnelStatus& s) { return d(s.bytes_from_node); }},
      {"tunnel_bytes_to_node_total", "bytes sent to the node through the tunnel (replies)",
       "counter", [&](const TunnelStatus& s) { return d(s.bytes_to_node); }},
  };
  // Samples of one name stay adjacent (Prometheus text format).
  for (const Spec& spec : specs) {
    for (const TunnelStatus& t : tunnels) {
      // A tunnel's name is its node's host name: the sample is about that host.
      out->push_back({spec.name, spec.help, spec.type, spec.value(t),
                      PrometheusLabel("tunnel", t.name), t.name});
    }
  }
}

}  // namespace trailkeep
