// /metrics samples for the reverse SSH tunnels: one sample per tunnel and
// metric, labelled tunnel="<name>" (TunnelManager::Status() is the source).
// The name is the node's host name, so each sample is about that host
// (Metric::source_host): a caller limited to host patterns sees its nodes' only.
#pragma once

#include <vector>

#include "server/sinks/prometheus.h"
#include "server/tunnel/tunnel_manager.h"

namespace trailkeep {

void AppendTunnelMetrics(const std::vector<TunnelStatus>& tunnels, std::vector<Metric>* out);

}  // namespace trailkeep
