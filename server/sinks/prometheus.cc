#include "server/sinks/prometheus.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace trailkeep {
namespace {

std::string FormatMetricValue(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string PrometheusLabel(const std::string& name, const std::string& value) {
  std::string out = name + "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::vector<Metric> VisibleMetrics(std::vector<Metric> metrics, bool restricted,
                                   const std::function<bool(const std::string&)>& may_see) {
  if (!restricted) return metrics;
  std::erase_if(metrics,
                [&](const Metric& m) { return m.source_host.empty() || !may_see(m.source_host); });
  return metrics;
}

std::string PrometheusText(const std::vector<Metric>& metrics) {
  std::string out;
  const std::string* previous = nullptr;
  for (const auto& m : metrics) {
    const std::string name = "trailkeep_" + m.name;
    if (previous == nullptr || *previous != m.name) {
      out += "# HELP " + name + " " + m.help + "\n";
      out += "# TYPE " + name + " " + m.type + "\n";
    }
    previous = &m.name;
    out += name;
    if (!m.labels.empty()) out += "{" + m.labels + "}";
    out += " " + FormatMetricValue(m.value) + "\n";
  }
  return out;
}

}  // namespace trailkeep
