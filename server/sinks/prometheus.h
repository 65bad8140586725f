// The Prometheus text exposition (format 0.0.4) of metric samples
// (common/metrics/metric.h), as GET /metrics serves them. Pure code.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/metrics/metric.h"

namespace trailkeep {

// What a caller limited to host patterns may see (docs/api.md, /metrics):
// only samples about one host that `may_see` accepts; no fleet-wide sample,
// since a counter over every host tells of the others' activity. With
// `restricted` false, everything.
std::vector<Metric> VisibleMetrics(std::vector<Metric> metrics, bool restricted,
                                   const std::function<bool(const std::string&)>& may_see);

// `name="value"` with the value escaped (\\, \", \n).
std::string PrometheusLabel(const std::string& name, const std::string& value);

// HELP and TYPE once per name, then each sample.
std::string PrometheusText(const std::vector<Metric>& metrics);

}  // namespace trailkeep
