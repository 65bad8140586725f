#include "agent/cli_integrity.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "agent/seal_export_check.h"

namespace trailkeep {
namespace {

using json = nlohmann::json;

// A verification streams progress at least every 50,000 events; a silent
// minute means the connection is dead.
constexpr int kVerifyReadTimeoutMs = 60'000;
constexpr int kListReadTimeoutMs = 120'000;

std::string Field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

int Error(const char* cmd, const Status& s, int code) {
  std::cerr << "trailkeep " << cmd << ": " << s.message() << "\n";
  return code;
}

// "TIME host kind epoch=E seqs A-B: detail"
std::string IntegrityLine(const json& e) {
  const std::string first = Field(e, "first_seq"), last = Field(e, "last_seq");
  return Field(e, "time") + " " + Field(e, "host") + " " + Field(e, "kind") +
         " epoch=" + Field(e, "epoch") +
         (first == last ? " seq " + first : " seqs " + first + "-" + last) + ": " +
         Field(e, "detail");
}

}  // namespace

int RunRemoteVerify(const ClientOptions& options, const std::string& host) {
  auto client = ApiClient::Create(options);
  if (!client.ok()) return Error("verify", client.status(), 2);
  std::optional<bool> clean;
  std::string server_error;
  Status s = client.value()->Get(
      "/v1/verify?host=" + UrlEncode(host),
      [&](std::string_view line) {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return true;
        if (auto p = j.find("progress"); p != j.end()) {
          std::cerr << "trailkeep verify: " << Field(*p, "events") << " events checked\n";
        } else if (auto i = j.find("issue"); i != j.end()) {
          std::cout << Field(*i, "line") << "\n";
        } else if (auto r = j.find("result"); r != j.end()) {
          std::cout << Field(*r, "summary") << "\n";
          clean = r->value("clean", false);
        } else if (j.contains("error")) {
          server_error = Field(j, "error");
        }
        return true;
      },
      kVerifyReadTimeoutMs);
  std::cout.flush();
  if (client.value()->Interrupted()) return 2;
  if (!s.ok()) return Error("verify", s, 2);
  if (!clean) {
    return Error("verify",
                 Status::Unavailable(server_error.empty() ? "the answer ended without a result"
                                                          : "server: " + server_error),
                 2);
  }
  return *clean ? 0 : 1;
}

int RunRemoteVerifySeal(const ClientOptions& options, const std::string& key_file,
                        const std::string& host_glob) {
  auto key = ReadVerificationKeyFile(key_file);
  if (!key.ok()) return Error("verify", key.status(), 2);
  auto client = ApiClient::Create(options);
  if (!client.ok()) return Error("verify", client.status(), 2);
  agent::SealExportCheck check(key.value(), host_glob);
  // Every event the token may read, in ingest order, a page (the server's
  // default size) at a time, until a page comes back empty.
  uint64_t cursor = 0, line_no = 0, checked = 0;
  for (;;) {
    std::optional<uint64_t> next;
    uint64_t count = 0;
    Status bad;
    Status s = client.value()->Get(
        "/v1/events?format=ndjson&seal_proof=true&cursor=" + std::to_string(cursor),
        [&](std::string_view line) {
          ++line_no;
          json j = json::parse(line, nullptr, false);
          if (j.is_object() && j.contains("next_cursor")) {
            next = std::strtoull(Field(j, "next_cursor").c_str(), nullptr, 10);
            return true;
          }
          if (!line.empty()) ++count;
          bad = check.AddLine(line, line_no);
          return bad.ok();
        },
        kListReadTimeoutMs);
    if (client.value()->Interrupted()) return 2;
    if (!s.ok()) return Error("verify", s, 2);
    if (!bad.ok()) return Error("verify", bad, 2);
    if (!next) return Error("verify", Status::Corruption("a page has no next_cursor line"), 2);
    checked += count;
    if (count == 0) break;
    std::cerr << "trailkeep verify: " << checked << " events checked\n";
    cursor = *next;
  }
  return agent::PrintSealResult(check.Finish());
}

int RunRemoteIntegrity(const ClientOptions& options, const IntegrityArgs& args) {
  auto client = ApiClient::Create(options);
  if (!client.ok()) return Error("integrity", client.status(), 1);
  std::string target = "/v1/integrity?format=ndjson&since=" + UrlEncode(args.since);
  if (!args.until.empty()) target += "&until=" + UrlEncode(args.until);
  if (!args.host.empty()) target += "&host=" + UrlEncode(args.host);
  if (!args.kind.empty()) target += "&kind=" + UrlEncode(args.kind);
  bool truncated = false;
  Status s = client.value()->Get(
      target,
      [&](std::string_view line) {
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return true;
        if (j.contains("count")) {
          truncated = j.value("truncated", false);
        } else if (args.format == "json") {
          std::cout << line << "\n";
        } else {
          std::cout << IntegrityLine(j) << "\n";
        }
        return true;
      },
      kListReadTimeoutMs);
  std::cout.flush();
  if (client.value()->Interrupted()) return 0;
  if (!s.ok()) return Error("integrity", s, 1);
  if (truncated) {
    std::cerr << "trailkeep integrity: more events matched than one answer holds; narrow "
                 "--since/--until or --host\n";
  }
  return 0;
}

}  // namespace trailkeep
