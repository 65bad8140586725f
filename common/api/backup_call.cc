#include "common/api/backup_call.h"

#include <nlohmann/json.hpp>

namespace trailkeep {
namespace {

// A checkpoint flushes the memtables first: allow it time on a busy store.
constexpr int kBackupReadTimeoutMs = 120'000;

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

Result<std::string> RequestBackup(ApiClient* client) {
  std::string body;
  Status s = client->Post(
      "/v1/backup",
      [&](std::string_view line) {
        body.append(line);
        return true;
      },
      kBackupReadTimeoutMs);
  if (client->Interrupted()) return Status::Aborted("interrupted");
  if (!s.ok()) return s;
  const auto answer = nlohmann::json::parse(body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) {
    return Status::Corruption("the answer is not a JSON object");
  }
  return "backup " + Str(answer, "path") + " (store " + Str(answer, "store") +
         ", up to ingest_seq " + Str(answer, "last_ingest_seq") + ", " + Str(answer, "created") +
         ")";
}

}  // namespace trailkeep
