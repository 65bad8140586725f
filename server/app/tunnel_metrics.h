// /metrics samples for the reverse SSH tunnels: one sample per tunnel and
// metric, labelled tunnel="<name>" (TunnelManager::Status() is the source).
#pragma once

#include <vector>

#include "server/sinks/prometheus.h"
#include "server/tunnel/tunnel_manager.h"

namespace trailkeep {

void AppendTunnelMetrics(const std::vector<TunnelStatus>& tunnels, std::vector<Metric>* out);

}  // namespace trailkeep
