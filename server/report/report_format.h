// Renders a Report: an aligned text table for people, one JSON object for
// scripts ({"report", "title", "columns", "rows": [{column: value}],
// "truncated", "without_evidence"}), the shape GET /v1/report/NAME will serve.
#pragma once

#include <string>

#include "server/report/report.h"

namespace trailkeep {

std::string ReportToText(const Report& report);
std::string ReportToJson(const Report& report);

}  // namespace trailkeep
