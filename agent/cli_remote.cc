#include "agent/cli_remote.h"

#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "common/api/backup_call.h"
#include "common/base/time_format.h"
#include "common/event/event_format.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using json = nlohmann::json;

// Silence longer than this on a tail (heartbeats come every ~10 s) means the
// connection is dead: reconnect.
constexpr int kTailReadTimeoutMs = 35'000;
constexpr int kQueryReadTimeoutMs = 120'000;
constexpr uint64_t kPageSize = 1000;

std::string FilterQuery(const RemoteFilter& f) {
  std::string q;
  auto add = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    q += '&';
    q += k;
    q += '=';
    q += UrlEncode(v);
  };
  add("host", f.host);
  add("ref", f.ref);
  add("q", f.text);
  add("since", f.since);
  add("until", f.until);
  return q;
}

int IntegrityFromName(const std::string& name) {
  if (name == "verified") return v1::INTEGRITY_VERIFIED;
  if (name == "bad_mac") return v1::INTEGRITY_BAD_MAC;
  if (name == "after_gap") return v1::INTEGRITY_AFTER_GAP;
  if (name == "unsigned") return v1::INTEGRITY_UNSIGNED;
  return v1::INTEGRITY_UNSPECIFIED;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The fields EventToText shows, from the event JSON (docs/event-schema.md).
v1::Event EventFromJson(const json& j) {
  v1::Event e;
  if (auto t = ParseTimeArg(Str(j, "receive_time"), 0)) e.set_receive_time_us(*t);
  e.set_host(Str(j, "host"));
  e.set_app_name(Str(j, "app_name"));
  e.set_procid(Str(j, "procid"));
  auto pri = j.find("pri");
  e.set_pri(pri != j.end() && pri->is_number_integer() ? pri->get<int>() : -1);
  if (auto refs = j.find("refs"); refs != j.end() && refs->is_array()) {
    for (const auto& r : *refs) {
      if (r.is_string()) e.add_ndcpp_refs(r.get<std::string>());
    }
  }
  e.set_integrity(static_cast<v1::IntegrityStatus>(IntegrityFromName(Str(j, "integrity"))));
  e.set_msg(Str(j, "msg"));
  return e;
}

// EventToText, coloured on a terminal: dim time, bold host, the line red for
// err and worse or a bad MAC, yellow for warnings or the first event after a gap.
std::string TextLine(const v1::Event& e, bool colour) {
  std::string line = EventToText(e);
  if (!colour) return line;
  const int severity = e.pri() >= 0 ? e.pri() % 8 : 6;
  const char* tone = "";
  if (e.integrity() == v1::INTEGRITY_BAD_MAC || severity <= 3) {
    tone = "\033[31m";
  } else if (e.integrity() == v1::INTEGRITY_AFTER_GAP || severity == 4) {
    tone = "\033[33m";
  }
  const size_t t_end = line.find(' ');
  if (t_end == std::string::npos) return line;
  const size_t h_end = line.find(' ', t_end + 1);
  std::string out = "\033[2m" + line.substr(0, t_end) + "\033[0m ";
  out += "\033[1m" + line.substr(t_end + 1, h_end - t_end - 1) + "\033[0m";
  if (h_end != std::string::npos) out += std::string(tone) + line.substr(h_end) + "\033[0m";
  return out;
}

Result<std::unique_ptr<ApiClient>> MakeClient(const ClientOptions& options) {
  return ApiClient::Create(options);
}

int Fail(const char* cmd, const Status& s) {
  std::cerr << "trailkeep " << cmd << ": " << s.message() << "\n";
  return 1;
}

}  // namespace

int RunRemoteTail(const ClientOptions& options, const TailArgs& args) {
  auto client = MakeClient(options);
  if (!client.ok()) return Fail("tail", client.status());
  const bool json_out = args.format == "json";
  const bool colour = !json_out && isatty(STDOUT_FILENO) != 0;
  std::optional<uint64_t> cursor = args.cursor;
  auto backoff = std::chrono::milliseconds(250);
  bool warned = false;
  for (;;) {
    std::string target = "/v1/tail?";
    target +=
        cursor ? "cursor=" + std::to_string(*cursor) : "backlog=" + std::to_string(args.backlog);
    target += FilterQuery(args.filter);
    bool got_line = false;
    Status s = client.value()->Get(
        target,
        [&](std::string_view line) {
          if (line.empty()) return true;
          json j = json::parse(line, nullptr, false);
          if (j.is_discarded() || !j.is_object()) {
            std::cerr << "trailkeep tail: unreadable line from the server\n";
            return true;
          }
          got_line = true;
          if (auto seq = j.find("ingest_seq"); seq != j.end() && seq->is_number_unsigned()) {
            const uint64_t n = seq->get<uint64_t>();
            if (cursor && n <= *cursor) return true;  // never print an event twice
            cursor = n;
            if (json_out) {
              std::cout << line << "\n";
            } else {
              std::cout << TextLine(EventFromJson(j), colour) << "\n";
            }
            std::cout.flush();
          } else if (j.contains("heartbeat")) {
            const uint64_t n = std::stoull(Str(j, "cursor").empty() ? "0" : Str(j, "cursor"));
            if (!cursor || n > *cursor) cursor = n;
          } else if (j.contains("missed")) {
            const uint64_t n = std::stoull(Str(j, "resume_cursor"));
            std::cerr << "trailkeep tail: this client fell behind; " << j["missed"].dump()
                      << " events were dropped from the live stream and are read again from "
                         "the store (cursor "
                      << n << ")\n";
            cursor = n;
          } else if (j.contains("error")) {
            std::cerr << "trailkeep tail: server: " << Str(j, "error") << "\n";
          }
          return true;
        },
        kTailReadTimeoutMs);
    if (s.code() == Status::Code::kAborted || client.value()->Interrupted()) return 0;
    if (s.code() == Status::Code::kInvalidArgument) return Fail("tail", s);
    if (got_line) {
      backoff = std::chrono::milliseconds(250);
      warned = false;
    }
    if (!s.ok() && !warned) {
      std::cerr << "trailkeep tail: " << s.message() << "; reconnecting"
                << (cursor ? " from cursor " + std::to_string(*cursor) : "") << "\n";
      warned = true;
    }
    client.value()->Sleep(backoff);  // returns at once on Ctrl-C
    if (client.value()->Interrupted()) return 0;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
  }
}

int RunRemoteQuery(const ClientOptions& options, const QueryArgs& args) {
  auto client = MakeClient(options);
  if (!client.ok()) return Fail("query", client.status());
  const bool json_out = args.format == "json";
  const bool colour = !json_out && isatty(STDOUT_FILENO) != 0;
  uint64_t cursor = args.cursor, printed = 0;
  for (;;) {
    const uint64_t page = args.limit == 0 ? kPageSize : std::min(kPageSize, args.limit - printed);
    uint64_t count = 0;
    std::optional<uint64_t> next;
    Status s = client.value()->Get(
        "/v1/events?cursor=" + std::to_string(cursor) + "&limit=" + std::to_string(page) +
            FilterQuery(args.filter),
        [&](std::string_view line) {
          if (line.empty()) return true;
          json j = json::parse(line, nullptr, false);
          if (j.is_discarded()) return true;
          if (j.contains("next_cursor")) {
            next = std::stoull(Str(j, "next_cursor"));
            return true;
          }
          ++count;
          if (json_out) {
            std::cout << line << "\n";
          } else {
            std::cout << TextLine(EventFromJson(j), colour) << "\n";
          }
          return true;
        },
        kQueryReadTimeoutMs);
    if (client.value()->Interrupted()) return 0;
    if (!s.ok()) return Fail("query", s);
    if (!next) return Fail("query", Status::Corruption("the page has no next_cursor line"));
    printed += count;
    cursor = *next;
    if (count < page || (args.limit != 0 && printed >= args.limit)) break;
  }
  std::cout.flush();
  return 0;
}

int RunRemoteBackup(const ClientOptions& options) {
  auto client = MakeClient(options);
  if (!client.ok()) return Fail("backup", client.status());
  auto line = RequestBackup(client.value().get());
  if (client.value()->Interrupted()) return 1;
  if (!line.ok()) return Fail("backup", line.status());
  std::cout << line.value() << "\n";
  return 0;
}

int RunRemoteHosts(const ClientOptions& options, const std::string& format) {
  auto client = MakeClient(options);
  if (!client.ok()) return Fail("hosts", client.status());
  std::string body;
  Status s = client.value()->Get(
      "/v1/hosts",
      [&](std::string_view line) {
        body.append(line);
        body += '\n';
        return true;
      },
      kQueryReadTimeoutMs);
  if (client.value()->Interrupted()) return 0;
  if (!s.ok()) return Fail("hosts", s);
  json hosts = json::parse(body, nullptr, false);
  if (hosts.is_discarded() || !hosts.is_array()) {
    return Fail("hosts", Status::Corruption("the host list is not a JSON array"));
  }
  for (const auto& h : hosts) {
    if (format == "json") {
      std::cout << h.dump() << "\n";
    } else {
      std::cout << Str(h, "host") << "  events=" << h.value("events", uint64_t{0})
                << "  last_seen=" << Str(h, "last_seen") << "  last_peer=" << Str(h, "last_peer")
                << "  transport=" << Str(h, "last_transport");
      if (h.contains("tunnel") && h["tunnel"].is_object()) {
        const json& t = h["tunnel"];
        std::cout << "  tunnel="
                  << TunnelSummaryLine(Str(t, "state"), Str(t, "since"),
                                       t.value("events_received", uint64_t{0}),
                                       Str(t, "last_error"));
      }
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace trailkeep
