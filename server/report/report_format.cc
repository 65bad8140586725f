#include "server/report/report_format.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace trailkeep {
namespace {

constexpr size_t kMaxCell = 60;  // long descriptions are cut in the text table

std::string Cell(const std::string& s) {
  if (s.empty()) return "-";
  return s.size() <= kMaxCell ? s : s.substr(0, kMaxCell - 3) + "...";
}

}  // namespace

std::string ReportToText(const Report& r) {
  std::vector<size_t> width(r.columns.size());
  for (size_t i = 0; i < r.columns.size(); ++i) width[i] = r.columns[i].size();
  for (const auto& row : r.rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], Cell(row[i]).size());
    }
  }
  std::string out = r.title + "\n";
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      std::string c = header ? cells[i] : Cell(cells[i]);
      if (header) std::transform(c.begin(), c.end(), c.begin(), ::toupper);
      out += c;
      if (i + 1 < cells.size()) out += std::string(width[i] - c.size() + 2, ' ');
    }
    out += "\n";
  };
  line(r.columns, true);
  for (const auto& row : r.rows) line(row, false);
  out += std::to_string(r.rows.size()) + (r.name == "ndcpp" ? " SFRs" : " events") +
         (r.truncated ? " (truncated)" : "") + "\n";
  if (r.name == "ndcpp") {
    out += "SFRs without evidence (" + std::to_string(r.without_evidence.size()) + "):";
    for (const auto& s : r.without_evidence) out += " " + s;
    out += "\n";
  }
  return out;
}

std::string ReportToJson(const Report& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows) {
    nlohmann::json o = nlohmann::json::object();
    for (size_t i = 0; i < row.size() && i < r.columns.size(); ++i) {
      // Counts stay numbers for scripts.
      if (r.columns[i] == "events" || r.columns[i] == "hosts") {
        o[r.columns[i]] = std::stoull(row[i]);
      } else {
        o[r.columns[i]] = row[i];
      }
    }
    rows.push_back(std::move(o));
  }
  nlohmann::json j = {{"report", r.name},
                      {"title", r.title},
                      {"columns", r.columns},
                      {"rows", std::move(rows)},
                      {"truncated", r.truncated}};
  if (r.name == "ndcpp") j["without_evidence"] = r.without_evidence;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace trailkeep
