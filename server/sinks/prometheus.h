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
struct Metric {
  Metric(std::string n, std::string h, std::string t, double v, std::string l = "")
      : name(std::move(n)),
        help(std::move(h)),
        type(std::move(t)),
        value(v),
        labels(std::move(l)) {}
  std::string name, help, type;
  double value = 0;
  std::string labels;
};
using MetricsSource = std::function<std::vector<Metric>()>;

// `name="value"` with the value escaped (\\, \", \n).
std::string PrometheusLabel(const std::string& name, const std::string& value);

// HELP and TYPE once per name, then each sample.
std::string PrometheusText(const std::vector<Metric>& metrics);

}  // namespace trailkeep
