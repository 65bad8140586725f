// Metric samples and their Prometheus text exposition (format 0.0.4), as
// GET /metrics serves them. Pure code.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace trailkeep {

// One Prometheus sample: name (without the trailkeep_ prefix), HELP text,
// "counter" or "gauge", value, and optional labels ("host=\"a\"", already
// escaped with PrometheusLabel). Samples of one name must be adjacent.
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
using MetricsSource = std::function<std::vector<Metric>()>;

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
