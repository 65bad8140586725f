#include "server/selfaudit/self_audit.h"

#include <unistd.h>

#include "common/base/endpoint.h"
#include "common/base/time_format.h"
#include "common/base/utf8.h"
#include "common/syslog/rfc5424_writer.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr size_t kMaxTrackedPeers = 1000;
constexpr int kFacilityLogAudit = 13;

int SeverityOf(SelfEventKind kind) {
  switch (kind) {
    case SelfEventKind::kStartup:
    case SelfEventKind::kShutdown:
    case SelfEventKind::kApiAccess:
    case SelfEventKind::kRulesReloaded:
    case SelfEventKind::kApiTokensReloaded:
    case SelfEventKind::kAgentConnected:
    case SelfEventKind::kTunnelInitiated:
    case SelfEventKind::kStorageRecovered:
    case SelfEventKind::kDiskSpaceRecovered:
    case SelfEventKind::kConfigReloaded:
    case SelfEventKind::kRetentionCut:
    case SelfEventKind::kSealTick:
    case SelfEventKind::kSealChainStart:
      return 5;  // notice
    case SelfEventKind::kIntegrityAlarm:
    case SelfEventKind::kDiskFull:         // ingest stops, the collector halts or data goes early
    case SelfEventKind::kKeyFileRefused:   // events of the host go unverified
    case SelfEventKind::kTlsReloadFailed:  // the old certificate may be about to expire
    // SSH_SESSION_FAILED includes a changed host key: err, like integrity alarms.
    case SelfEventKind::kSshSessionFailed:
      return 3;  // err
    case SelfEventKind::kStoreError:
      return 2;  // crit
    default:
      return 4;  // warning
  }
}

}  // namespace

const char* SelfEventMsgId(SelfEventKind kind) {
  switch (kind) {
    case SelfEventKind::kStartup:
      return "COLLECTOR_START";
    case SelfEventKind::kShutdown:
      return "COLLECTOR_STOP";
    case SelfEventKind::kTlsHandshakeFailed:
      return "TLS_HANDSHAKE_FAILED";
    case SelfEventKind::kPeerNotPermitted:
      return "PEER_NOT_PERMITTED";
    case SelfEventKind::kFramingError:
      return "FRAMING_ERROR";
    case SelfEventKind::kTruncatedFrame:
      return "TRUNCATED_FRAME";
    case SelfEventKind::kConnectionLimit:
      return "CONNECTION_LIMIT";
    case SelfEventKind::kStoreError:
      return "STORE_ERROR";
    case SelfEventKind::kApiAccess:
      return "API_ACCESS";
    case SelfEventKind::kApiDenied:
      return "API_DENIED";
    case SelfEventKind::kRulesReloaded:
      return "RULES_RELOADED";
    case SelfEventKind::kRulesReloadFailed:
      return "RULES_RELOAD_FAILED";
    case SelfEventKind::kAgentConnected:
      return "AGENT_CONNECTED";
    case SelfEventKind::kAgentRefused:
      return "AGENT_REFUSED";
    case SelfEventKind::kIntegrityAlarm:
      return "INTEGRITY_ALARM";
    case SelfEventKind::kApiTokensReloaded:
      return "API_TOKENS_RELOADED";
    case SelfEventKind::kApiTokensReloadFailed:
      return "API_TOKENS_RELOAD_FAILED";
    case SelfEventKind::kTunnelInitiated:
      return "TUNNEL_INITIATED";
    case SelfEventKind::kTunnelTerminated:
      return "TUNNEL_TERMINATED";
    case SelfEventKind::kTunnelFailed:
      return "TUNNEL_FAILED";
    case SelfEventKind::kSshSessionFailed:
      return "SSH_SESSION_FAILED";
    case SelfEventKind::kStorageLow:
      return "STORAGE_LOW";
    case SelfEventKind::kStorageRecovered:
      return "STORAGE_RECOVERED";
    case SelfEventKind::kDiskFull:
      return "DISK_FULL";
    case SelfEventKind::kDiskSpaceRecovered:
      return "DISK_SPACE_RECOVERED";
    case SelfEventKind::kKeyFileRefused:
      return "KEY_FILE_REFUSED";
    case SelfEventKind::kConfigReloaded:
      return "CONFIG_RELOADED";
    case SelfEventKind::kTlsReloadFailed:
      return "TLS_RELOAD_FAILED";
    case SelfEventKind::kPeerRevoked:
      return "PEER_REVOKED";
    case SelfEventKind::kPlaintextListenerOpened:
      return "PLAINTEXT_LISTENER_OPENED";
    case SelfEventKind::kRetentionCut:
      return "RETENTION_CUT";
    case SelfEventKind::kSealTick:
      return "SEAL_TICK";
    case SelfEventKind::kSealChainStart:
      return "SEAL_CHAIN_START";
    case SelfEventKind::kUnsealed:
      return "SEAL_UNSEALED";
    case SelfEventKind::kHostnameRefused:
      return "HOSTNAME_REFUSED";
  }
  return "UNKNOWN";
}

RateLimitedSelfAudit::RateLimitedSelfAudit(SelfAuditOptions options, Emit emit, ClockPtr clock)
    : options_(std::move(options)), emit_(std::move(emit)), clock_(std::move(clock)) {}

void RateLimitedSelfAudit::Record(SelfEventKind kind, const std::string& peer,
                                  const std::string& message,
                                  const std::vector<std::pair<std::string, std::string>>& fields) {
  const int64_t now = clock_->NowMicros();
  std::vector<v1::Event> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Window& w = windows_[kind];
    if (w.start_us == 0 || now - w.start_us >= options_.window_seconds * 1'000'000LL) {
      if (w.suppressed > 0) out.push_back(Summary(kind, w, now));
      w = Window{};
      w.start_us = now;
    }
    // Tunnel events are bounded by SshTunnel itself (one per state change, a
    // repeated failure at most every 10 minutes) and each moves its node's
    // HostState.tunnel (server/pipeline/tunnel_state.h): never summarised.
    const bool per_tunnel =
        kind == SelfEventKind::kTunnelInitiated || kind == SelfEventKind::kTunnelTerminated ||
        kind == SelfEventKind::kTunnelFailed || kind == SelfEventKind::kSshSessionFailed ||
        // one per host and pass: bounded by the hosts, and each names its range
        kind == SelfEventKind::kRetentionCut ||
        // one per seal period, and at start
        kind == SelfEventKind::kSealTick || kind == SelfEventKind::kSealChainStart ||
        kind == SelfEventKind::kUnsealed;
    // Limited per peer address (not per port: a peer reconnects from new
    // ports), so one noisy peer spends its own burst, not everyone's.
    const std::string address = AddressOfEndpoint(peer);
    auto from = w.recorded_from.find(address);
    const int from_peer = from == w.recorded_from.end() ? 0 : from->second;
    if (per_tunnel ||
        (from_peer < options_.burst && w.recorded < kPeersPerWindow * options_.burst)) {
      ++w.recorded;
      ++w.recorded_from[address];
      out.push_back(Build(kind, peer, message, fields, now));
    } else {
      ++w.suppressed;
      ++suppressed_total_;
      if (w.peers.size() < kMaxTrackedPeers && !peer.empty()) w.peers.insert(address);
      // Messages may quote a peer's bytes: cut, then escaped (a cut
      // multi-byte character becomes \xHH, never invalid UTF-8).
      w.last = {now, peer, EscapeInvalidUtf8(std::string_view(message).substr(0, kExcerptBytes))};
      if (w.suppressed == 1) w.first = w.last;
    }
  }
  if (!out.empty()) emit_(&out);
}

void RateLimitedSelfAudit::Tick() { CloseWindows(/*only_ended=*/true); }

void RateLimitedSelfAudit::Flush() { CloseWindows(/*only_ended=*/false); }

void RateLimitedSelfAudit::CloseWindows(bool only_ended) {
  const int64_t now = clock_->NowMicros();
  std::vector<v1::Event> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [kind, w] : windows_) {
      const bool ended =
          w.start_us != 0 && now - w.start_us >= options_.window_seconds * 1'000'000LL;
      if (only_ended && !ended) continue;
      if (w.suppressed > 0) out.push_back(Summary(kind, w, now));
      w = Window{};
    }
  }
  if (!out.empty()) emit_(&out);
}

uint64_t RateLimitedSelfAudit::suppressed_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return suppressed_total_;
}

v1::Event RateLimitedSelfAudit::Summary(SelfEventKind kind, const Window& w, int64_t now) {
  std::string examples;
  int n = 0;
  for (const auto& p : w.peers) {
    if (n++ == 5) break;
    if (!examples.empty()) examples += ' ';
    examples += p;
  }
  std::string msg =
      std::to_string(w.suppressed) + " more " + SelfEventMsgId(kind) + " events in " +
      std::to_string((now - w.start_us) / 1'000'000) + " s from " + std::to_string(w.peers.size()) +
      (w.peers.size() >= kMaxTrackedPeers ? "+" : "") + " peers; last: " + w.last.excerpt;
  return Build(kind, "", msg,
               {{"summary", "1"},
                {"suppressed", std::to_string(w.suppressed)},
                {"distinct_peers", std::to_string(w.peers.size())},
                {"example_peers", examples},
                {"first_time", FormatRfc3339Micros(w.first.time_us)},
                {"first_peer", w.first.peer},
                {"first_msg", w.first.excerpt},
                {"last_time", FormatRfc3339Micros(w.last.time_us)},
                {"last_peer", w.last.peer},
                {"last_msg", w.last.excerpt}},
               now);
}

v1::Event RateLimitedSelfAudit::Build(
    SelfEventKind kind, const std::string& peer, const std::string& message,
    const std::vector<std::pair<std::string, std::string>>& fields, int64_t now) {
  v1::Event e;
  const int pri = kFacilityLogAudit * 8 + SeverityOf(kind);
  const std::string sd_id = "trailkeep@" + std::to_string(options_.enterprise_number);
  const std::string ts = FormatRfc3339Micros(now);
  const std::string pid = std::to_string(getpid());
  e.set_receive_time_us(now);
  e.set_event_time_us(now);
  e.set_host(options_.collector_host);
  e.set_transport(v1::TRANSPORT_SELF);
  e.set_format(v1::FORMAT_INTERNAL);
  e.set_integrity(v1::INTEGRITY_UNSIGNED);
  e.set_pri(pri);
  e.set_version(1);
  e.set_timestamp_text(ts);
  e.set_hostname(options_.collector_host);
  e.set_app_name("trailkeepd");
  e.set_procid(pid);
  e.set_msgid(SelfEventMsgId(kind));
  e.mutable_peer()->set_authenticated(true);
  e.mutable_peer()->set_cert_subject("trailkeepd (self)");
  std::string raw;
  Rfc5424Writer w(&raw,
                  {pri, ts, options_.collector_host, "trailkeepd", pid, SelfEventMsgId(kind)});
  v1::SdElement* sd = nullptr;
  auto add = [&](const std::string& k, const std::string& v) {
    if (sd == nullptr) {
      sd = e.add_structured_data();
      sd->set_id(sd_id);
      w.Element(sd_id);
    }
    v1::SdParam* p = sd->add_params();
    p->set_name(k);
    p->set_value(v);
    w.Param(k, v);
  };
  if (!peer.empty()) add("peer", peer);
  for (const auto& [k, v] : fields) add(k, v);
  w.Msg(message);
  e.set_msg(message);
  e.set_raw(std::move(raw));
  return e;
}

}  // namespace trailkeep
