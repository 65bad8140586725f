#include "agent/cli_report.h"

#include <iostream>

namespace trailkeep {

namespace {
constexpr int kReportReadTimeoutMs = 300'000;  // an ndcpp report scans every SFR's index
}

int RunRemoteReport(const ClientOptions& options, const ReportArgs& args) {
  auto client = ApiClient::Create(options);
  if (!client.ok()) {
    std::cerr << "trailkeep report: " << client.status().message() << "\n";
    return 1;
  }
  std::string target = "/v1/report/" + UrlEncode(args.name) + "?format=" + UrlEncode(args.format);
  if (!args.since.empty()) target += "&since=" + UrlEncode(args.since);
  if (!args.until.empty()) target += "&until=" + UrlEncode(args.until);
  if (!args.host.empty()) target += "&host=" + UrlEncode(args.host);
  if (args.failed) target += "&failed=true";
  Status s = client.value()->Get(
      target,
      [](std::string_view line) {
        std::cout << line << "\n";
        return true;
      },
      kReportReadTimeoutMs);
  std::cout.flush();
  if (client.value()->Interrupted()) return 1;
  if (!s.ok()) {
    std::cerr << "trailkeep report: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace trailkeep
