#include "server/sinks/prometheus.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <utility>

namespace trailkeep {
namespace {

std::string FormatMetricValue(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// The name HELP and TYPE are given for: a histogram's samples are
// NAME_bucket, NAME_sum and NAME_count under the one family NAME.
std::string FamilyName(const Metric& m) {
  if (m.type == "histogram") {
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (m.name.ends_with(suffix)) return m.name.substr(0, m.name.size() - suffix.size());
    }
  }
  return m.name;
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
  std::string previous_family;
  for (const auto& m : metrics) {
    const std::string name = "trailkeep_" + m.name;
    std::string family = FamilyName(m);
    if (out.empty() || family != previous_family) {
      out += "# HELP trailkeep_" + family + " " + m.help + "\n";
      out += "# TYPE trailkeep_" + family + " " + m.type + "\n";
    }
    previous_family = std::move(family);
    out += name;
    if (!m.labels.empty()) out += "{" + m.labels + "}";
    out += " " + FormatMetricValue(m.value) + "\n";
  }
  return out;
}

}  // namespace trailkeep
