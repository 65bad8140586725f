// SelfAudit: how the collector records its own security-relevant events
// (start-up, shutdown, refused handshakes and certificates, framing errors,
// store failures) into its own store, as ordinary events with transport
// "self", host = the collector's host name and app_name "trailkeepd".
//
// Floods are summarised: per kind and peer address, the first `burst` events
// of each window are recorded one by one, and at most kPeersPerWindow * burst
// per kind in all; the rest are counted and recorded as one summary event per
// kind (count, distinct peers, examples, and the first and last suppressed
// event: time, peer and an excerpt of the message, escaped to valid UTF-8)
// when the window ends (Tick()). A handshake storm therefore costs a bounded number of writes, and
// one noisy peer cannot hide another peer's refusal behind its own.
// Tunnel events (TUNNEL_*, SSH_SESSION_FAILED) are never summarised:
// SshTunnel bounds them, and each one moves its node's HostState.tunnel.
//
// Concurrency: Record() and Tick() are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/base/clock.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

enum class SelfEventKind {
  kStartup,
  kShutdown,
  kTlsHandshakeFailed,
  kPeerNotPermitted,
  kFramingError,
  kTruncatedFrame,
  kConnectionLimit,
  kStoreError,
  kApiAccess,              // a successful export / API request (who, from where, which filter)
  kApiDenied,              // an API request refused with 401 or 403
  kRulesReloaded,          // NDcPP rules replaced on SIGHUP
  kRulesReloadFailed,      // SIGHUP with an invalid rules file: the old rules stay
  kAgentConnected,         // a trailkeep/1 agent bound to its host (resume point)
  kAgentRefused,           // a trailkeep/1 connection refused (certificate, host binding)
  kIntegrityAlarm,         // chain verification: gap, bad MAC, conflict, replay, ...
  kApiTokensReloaded,      // API token file replaced on SIGHUP
  kApiTokensReloadFailed,  // SIGHUP with an invalid token file: the old tokens stay
  kTunnelInitiated,        // a reverse SSH tunnel to a node is up (FTP_ITC.1)
  kTunnelTerminated,       // an up tunnel closed or was lost (FTP_ITC.1)
  kTunnelFailed,           // a tunnel could not be set up: TCP, forward refused (FTP_ITC.1)
  kSshSessionFailed,       // SSH handshake, host key or authentication failed (FCS_SSHS_EXT.1)
  kStorageLow,             // the store's disk fell below its warning level (FAU_STG.3/LocSpace)
  kStorageRecovered,       // ... and has room again
  // The store's disk fell below admin_space_left: disk_full_action applies
  // (FAU_STG.4; server/app/space_watch.h), and rose above it again.
  kDiskFull,
  kDiskSpaceRecovered,
  kKeyFileRefused,   // SIGHUP: a private key with a loose mode, wrong owner or unreadable
  kConfigReloaded,   // SIGHUP: one per reload, what changed (TLS fingerprints, files)
  kTlsReloadFailed,  // SIGHUP: TLS files refused (broken, key mismatch): the old stay
  kPeerRevoked,      // SIGHUP: a live peer the reloaded CA or CRL refuses, disconnected
  // An opt-in UDP/TCP syslog listener opened: unauthenticated input is on.
  kPlaintextListenerOpened,
  // Retention removed a host's events older than its policy (FAU_STG.1):
  // one per host and pass, never summarised (server/app/retention_timer.h).
  kRetentionCut,
  // A legacy TLS sender's event dropped: its certificate does not speak for
  // the HOSTNAME it claims (hostname_binding = "refuse").
  kHostnameRefused,
  // The seal (docs/formats/seal.md): each period's tick of every host's seal
  // head (never summarised: one per period), the start of a seal chain (a
  // first sealed start, or a new chain after a restore, naming the old
  // heads), and a start without seal state (the collector runs unsealed).
  kSealTick,
  kSealChainStart,
  kUnsealed,
};

// The MSGID under which a kind is stored ("TLS_HANDSHAKE_FAILED", ...).
const char* SelfEventMsgId(SelfEventKind kind);

class SelfAudit {
 public:
  virtual ~SelfAudit() = default;
  // `peer` is "ip:port" or "" for events without one; `fields` become
  // parameters of the [trailkeep@32473 ...] structured-data element.
  virtual void Record(SelfEventKind kind, const std::string& peer, const std::string& message,
                      const std::vector<std::pair<std::string, std::string>>& fields = {}) = 0;
};

struct SelfAuditOptions {
  std::string collector_host;  // HOSTNAME of the collector's own events
  int window_seconds = 10;
  int burst = 10;  // events per kind, peer address and window recorded one by one
  int enterprise_number = 32473;
};

class RateLimitedSelfAudit final : public SelfAudit {
 public:
  using Emit = std::function<void(std::vector<v1::Event>*)>;

  // Windows and the events' times are read from `clock`.
  RateLimitedSelfAudit(SelfAuditOptions options, Emit emit, ClockPtr clock = MakeSystemClock());
  void Record(SelfEventKind kind, const std::string& peer, const std::string& message,
              const std::vector<std::pair<std::string, std::string>>& fields = {}) override;
  // Closes windows that have ended, emitting their summaries. Call about once a second.
  void Tick();
  // Emits the summaries of every open window now (at shutdown).
  void Flush();
  uint64_t suppressed_total() const;

  // Per kind and window, events are recorded one by one for this many peers'
  // bursts at most (a flood from many addresses is summarised too).
  static constexpr int kPeersPerWindow = 20;
  // How much of a suppressed event's message its window's summary keeps.
  static constexpr size_t kExcerptBytes = 256;

 private:
  // One suppressed event, as the window's summary shows it.
  struct Sample {
    int64_t time_us = 0;
    std::string peer;
    std::string excerpt;  // the message's first kExcerptBytes, escaped
  };
  struct Window {
    int64_t start_us = 0;
    int recorded = 0;                          // every peer
    std::map<std::string, int> recorded_from;  // per peer address (<= kPeersPerWindow * burst)
    uint64_t suppressed = 0;
    std::set<std::string> peers;  // bounded: at most kMaxTrackedPeers
    Sample first;                 // of the suppressed events
    Sample last;
  };
  v1::Event Build(SelfEventKind kind, const std::string& peer, const std::string& message,
                  const std::vector<std::pair<std::string, std::string>>& fields, int64_t now);
  v1::Event Summary(SelfEventKind kind, const Window& w, int64_t now);
  // Emits the summaries of the windows that ended (or of all) and resets them.
  void CloseWindows(bool only_ended);

  const SelfAuditOptions options_;
  const Emit emit_;
  const ClockPtr clock_;
  mutable std::mutex mu_;
  std::map<SelfEventKind, Window> windows_;  // GUARDED_BY(mu_)
  uint64_t suppressed_total_ = 0;            // GUARDED_BY(mu_)
};

}  // namespace trailkeep
