// One sample of the collector's metrics, as GET /metrics serves it
// (Prometheus text, server/sinks/prometheus.h) and the CounterRegistry
// collects it. Plain data.
#pragma once

#include <string>
#include <utility>

namespace trailkeep {

// name (without the trailkeep_ prefix), HELP text, "counter", "gauge" or
// "histogram" (then the name ends in _bucket, _sum or _count: one family),
// value, and optional labels ("host=\"a\"", already escaped with
// PrometheusLabel). Samples of one name must be adjacent in an exposition.
// `source_host` names the one source host (or tunnel node) the sample is
// about; "" marks a fleet-wide sample, which mixes every host's activity.
struct Metric {
  Metric(std::string n, std::string h, std::string t, double v, std::string l = "",
         std::string host = "")
      : name(std::move(n)),
        help(std::move(h)),
        type(std::move(t)),
        value(v),
        labels(std::move(l)),
        source_host(std::move(host)) {}
  std::string name, help, type;
  double value = 0;
  std::string labels;
  std::string source_host;
};

}  // namespace trailkeep
