// POST /v1/backup (docs/api.md, docs/operations.md 'Back up and restore'): a
// RocksDB checkpoint of the running store in
// <backup_dir>/backup-<UTC time>-<last ingest_seq>/store, taken on the read
// pool while commits go on. The answer names the folder and the last
// ingest_seq it surely holds (everything committed before the request).
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/base/time_format.h"
#include "server/sinks/api_endpoints.h"
#include "server/sinks/api_session.h"
#include "server/store/store.h"

using http_status = boost::beast::http::status;

namespace trailkeep {
namespace {

// 2026-12-05T14:03:07.123456Z -> 20261205T140307Z: sorts by time, no colons.
std::string CompactUtc(int64_t now_us) {
  std::string text = FormatRfc3339Micros(now_us);
  std::string out;
  for (char c : text.substr(0, 19)) {
    if (c != '-' && c != ':') out.push_back(c);
  }
  return out + "Z";
}

}  // namespace

void ServeBackup(ApiSession& session) {
  const std::string dir = session.server().options.backup_dir;
  if (dir.empty()) {
    return session.SendError(http_status::service_unavailable, "backups are not configured");
  }
  session.AnswerFromReadPool(
      [server = session.server_ptr(), dir]() -> Result<std::string> {
        const uint64_t last_seq = server->store->LastSeq();
        const int64_t now_us = server->options.clock->NowMicros();
        const std::string folder = (std::filesystem::path(dir) / ("backup-" + CompactUtc(now_us) +
                                                                  "-" + std::to_string(last_seq)))
                                       .string();
        std::error_code ec;
        std::filesystem::create_directories(folder, ec);
        if (ec) return Status::IoError("cannot create " + folder + ": " + ec.message());
        if (Status s = server->store->CreateCheckpoint(folder + "/store"); !s.ok()) return s;
        nlohmann::json answer = {{"path", folder},
                                 {"store", folder + "/store"},
                                 {"last_ingest_seq", std::to_string(last_seq)},
                                 {"created", FormatRfc3339Micros(now_us)}};
        return answer.dump() + "\n";
      },
      {"application/json", /*no_store=*/true, "backup"});
}

}  // namespace trailkeep
