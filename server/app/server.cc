#include "server/app/server.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "common/base/bytes.h"
#include "common/base/clock.h"
#include "common/base/disk_space.h"
#include "common/metrics/counter_registry.h"
#include "server/app/audit_group_timer.h"
#include "server/app/config_trail.h"
#include "server/app/disk_rotation.h"
#include "server/app/file_access.h"
#include "server/app/hangup_reload.h"
#include "server/app/privileges.h"
#include "server/app/retention_timer.h"
#include "server/app/rules_file.h"
#include "server/app/seal_ticker.h"
#include "server/app/space_watch.h"
#include "server/app/tls_reload.h"
#include "server/app/tunnel_metrics.h"
#include "server/net/audit_remote_listener.h"
#include "server/net/byte_stream.h"
#include "server/net/plain_syslog_listener.h"
#include "server/net/tls_syslog_listener.h"
#include "server/pipeline/agent_binding.h"
#include "server/pipeline/agent_registry.h"
#include "server/pipeline/agent_responder.h"
#include "server/pipeline/audit_grouping.h"
#include "server/pipeline/audit_grouping_stage.h"
#include "server/pipeline/chain_verifier.h"
#include "server/pipeline/classify_stage.h"
#include "server/pipeline/collector_events.h"
#include "server/pipeline/connection_audit.h"
#include "server/pipeline/hmac_keyring.h"
#include "server/pipeline/ingest_pipeline.h"
#include "server/pipeline/legacy_host_rules.h"
#include "server/pipeline/record_deduper.h"
#include "server/pipeline/rules_holder.h"
#include "server/pipeline/seal_stage.h"
#include "server/pipeline/tunnel_state_stage.h"
#include "server/selfaudit/self_audit.h"
#include "server/sinks/export_https_server.h"
#include "server/sinks/live_tail_hub.h"
#include "server/store/committer.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;

// ports.json: every bound address per listener kind, written atomically so a
// test polling for it never reads half a file.
void WritePortsFile(const std::string& data_dir, const std::vector<std::string>& syslog,
                    const std::vector<std::string>& export_api,
                    const std::vector<std::string>& audit, const std::vector<std::string>& udp,
                    const std::vector<std::string>& tcp) {
  auto list = [](const std::vector<std::string>& addrs) {
    std::string out = "[";
    for (size_t i = 0; i < addrs.size(); ++i) {
      if (i > 0) out += ", ";
      out += "\"" + addrs[i] + "\"";
    }
    return out + "]";
  };
  std::string json = "{\"syslog\": " + list(syslog) + ", \"export\": " + list(export_api) +
                     ", \"audit\": " + list(audit) + ", \"udp\": " + list(udp) +
                     ", \"tcp\": " + list(tcp) + ", \"pid\": " + std::to_string(getpid()) + "}\n";
  const std::string tmp = data_dir + "/ports.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json;
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, data_dir + "/ports.json");
}

// Integrity events by kind since start, for /metrics: the committer thread
// counts, scrapes read.
struct IntegrityCounts {
  std::mutex mu;
  std::map<std::string, uint64_t> by_kind{{"gap", 0}, {"bad_mac", 0}};  // GUARDED_BY(mu)

  void Add(const CommitExtras& extras) {
    if (extras.integrity.empty()) return;
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& ie : extras.integrity) ++by_kind[ie.kind()];
  }
  Status AppendTo(std::vector<Metric>* out) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [kind, n] : by_kind) {
      out->push_back({"integrity_events_total",
                      "integrity events recorded since start (gap, bad_mac, conflict, ...)",
                      "counter", static_cast<double>(n), PrometheusLabel("kind", kind)});
    }
    return Status::Ok();
  }
};

// commit_duration_seconds: the group commits' durations (WAL sync included)
// as a Prometheus histogram, so that p50/p99 can be read from two scrapes.
void AppendCommitDurationHistogram(const CommitterStats& c, std::vector<Metric>* out) {
  const std::string help = "group commit durations (WAL sync included)";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < c.commit_duration_counts.size(); ++i) {
    cumulative += c.commit_duration_counts[i];
    char le[32] = "+Inf";
    if (i < kCommitDurationBoundsMicros.size()) {
      std::snprintf(le, sizeof le, "%g", static_cast<double>(kCommitDurationBoundsMicros[i]) / 1e6);
    }
    out->push_back({"commit_duration_seconds_bucket", help, "histogram",
                    static_cast<double>(cumulative), PrometheusLabel("le", le)});
  }
  out->push_back({"commit_duration_seconds_sum", help, "histogram",
                  static_cast<double>(c.commit_micros_total) / 1e6});
  out->push_back(
      {"commit_duration_seconds_count", help, "histogram", static_cast<double>(c.commits)});
}

// /metrics: what the committer, self-audit and the agent registry count (the
// listeners and the API register their own counters).
Status AppendCollectorMetrics(const CommitterStats& c, uint64_t self_audit_suppressed,
                              size_t agents_connected, std::vector<Metric>* out) {
  auto d = [](auto v) { return static_cast<double>(v); };
  const Metric samples[] = {
      {"events_committed_total", "events durably stored", "counter", d(c.events_committed)},
      {"commits_total", "group commits (one WriteBatch each)", "counter", d(c.commits)},
      {"commit_failures_total", "failed group commits (retried)", "counter", d(c.commit_failures)},
      {"commit_queue_bytes", "parsed events waiting for the committer", "gauge", d(c.queued_bytes)},
      {"commit_offers_refused_total", "batches refused because the commit queue was full",
       "counter", d(c.offers_refused)},
      {"self_audit_suppressed_total", "collector events folded into summaries under floods",
       "counter", d(self_audit_suppressed)},
      {"chain_duplicates_dropped_total", "agent events dropped as already stored (resends)",
       "counter", d(c.events_dropped_as_duplicates)},
      {"chain_heartbeats_total", "agent heartbeats (chain heads) judged; never stored", "counter",
       d(c.heartbeats_consumed)},
      {"agents_connected", "live trailkeep/1 agent connections", "gauge", d(agents_connected)},
      {"commit_seconds_total", "time spent in successful group commits (WAL sync included)",
       "counter", d(c.commit_micros_total) / 1e6},
      {"last_commit_seconds", "duration of the last group commit", "gauge",
       d(c.last_commit_micros) / 1e6},
  };
  out->insert(out->end(), std::begin(samples), std::end(samples));
  AppendCommitDurationHistogram(c, out);
  return Status::Ok();
}

// A stored record that did not parse as stored (store.h) is an integrity
// event: an auditor must learn that a block was repaired or skipped, and where.
void RecordStoreReadIssue(const StoreReadIssue& issue, SelfAudit* audit) {
  const std::string kind = issue.repaired ? "store_record_repaired" : "store_record_unreadable";
  audit->Record(SelfEventKind::kIntegrityAlarm, "",
                kind + ": " + issue.record + " " + issue.position +
                    (issue.repaired ? ": invalid UTF-8 in a text field, read with it escaped"
                                    : ": does not parse, skipped by readers"),
                {{"kind", kind},
                 {"record", issue.record},
                 {"position", issue.position},
                 {"first_seq", std::to_string(issue.first_seq)},
                 {"last_seq", std::to_string(issue.last_seq)}});
}

// At shutdown, once the listeners are closed: stops `io` when every frame
// already read has been handed to the committer (sessions hold frames while
// its queue is full, as it may be under load), or at `until` so that a store
// that cannot write does not hold the shutdown forever.
void StopWhenHandedOver(net::io_context& io, std::function<uint64_t()> held,
                        std::shared_ptr<net::steady_timer> timer,
                        std::chrono::steady_clock::time_point until) {
  if (held() == 0 || std::chrono::steady_clock::now() >= until) {
    io.stop();
    return;
  }
  timer->expires_after(std::chrono::milliseconds(20));
  timer->async_wait([&io, held, timer, until](boost::system::error_code) {
    StopWhenHandedOver(io, held, timer, until);
  });
}

// Periodic housekeeping on the io_context: self-audit windows, stats log.
class Ticker {
 public:
  Ticker(const net::any_io_executor& ex, RateLimitedSelfAudit* audit) : timer_(ex), audit_(audit) {}
  void Start() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      audit_->Tick();
      Start();
    });
  }
  void Stop() { timer_.cancel(); }

 private:
  net::steady_timer timer_;
  RateLimitedSelfAudit* audit_;
};

// Thousands of connections need more descriptors than the usual soft limit
// of 1024: raise it to the hard limit the administrator allows.
void RaiseFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) spdlog::warn("cannot raise the open-file limit");
  }
}

AuditGroupingOptions GroupingOptions(const ServerConfig& config) {
  AuditGroupingOptions o;
  o.naming = config.audit_naming;
  for (const TunnelConfig& t : config.tunnels) {
    AuditTunnelNode& node = o.tunnels[t.name];
    node.host = t.host;
    audit::NodeNaming naming{audit::NameFormat::kHostname, t.name};
    if (!t.name_format.empty() && audit::ParseNameFormat(t.name_format, &naming.format)) {
      node.naming = naming;
    }
  }
  return o;
}

// [[listen.audit]] name_format by bound address (io threads not yet running):
// a listener whose configured address (the file's, or --listen-audit's in
// its place) is the one a table named takes that table's name_format.
void SetListenerNamings(const ServerConfig& config, const std::vector<std::string>& bound,
                        AuditGrouping* grouping) {
  const auto& configured = config.audit_remote.addresses;
  for (size_t i = 0; i < bound.size() && i < configured.size(); ++i) {
    for (const auto& [address, naming] : config.audit_listener_naming) {
      if (address == configured[i]) grouping->SetListenerNaming(bound[i], naming);
    }
  }
}

// Legacy TLS senders' host policy by bound address (io threads not yet
// running): hostname_binding of the [[listen.syslog]] whose configured
// address is the listener's, else "flag"; the agents' host_map and
// [legacy_syslog.allowed_hosts] say which hosts a certificate speaks for.
LegacyHostRules MakeLegacyHostRules(const ServerConfig& config,
                                    const std::vector<std::string>& bound) {
  LegacyHostConfig legacy;
  const auto& configured = config.syslog.addresses;
  for (size_t i = 0; i < bound.size() && i < configured.size(); ++i) {
    for (const auto& [address, binding] : config.syslog_listener_binding) {
      if (address == configured[i]) legacy.listeners.emplace_back(bound[i], binding);
    }
  }
  legacy.allowed_hosts = config.legacy_allowed_hosts;
  legacy.host_map = config.host_map;
  return LegacyHostRules(std::move(legacy));
}

// An auditor must see that unauthenticated input is enabled: one event per
// plaintext socket, naming its transport and address.
void RecordPlaintextListeners(const PlainSyslogListener& plain, const PlainSyslogOptions& options,
                              SelfAudit* audit) {
  const std::string limit = options.rate_per_source > 0
                                ? std::to_string(static_cast<uint64_t>(options.rate_per_source))
                                : std::string("unlimited");
  const auto record = [&](const std::vector<std::string>& bound, const char* transport) {
    for (const auto& a : bound) {
      spdlog::warn("plaintext syslog ({}) on {}: senders are not authenticated", transport, a);
      audit->Record(SelfEventKind::kPlaintextListenerOpened, "",
                    std::string("plaintext syslog listener opened: ") + transport + " on " + a +
                        "; its senders are not authenticated and their events are unsigned",
                    {{"transport", transport}, {"address", a}, {"rate_per_source", limit}});
    }
  };
  record(plain.BoundUdp(), "udp-syslog");
  record(plain.BoundTcp(), "tcp-syslog");
}

// What the collector's own trail says of sealing at start: a chain that
// starts (first sealed start, or a new one after a restore, naming the old
// heads), or that it runs unsealed, each start.
void RecordSealStart(const ServerConfig& config, const Result<SealStage::Opened>& opened,
                     const SealStage* stage, SelfAudit* audit) {
  if (stage == nullptr) {
    spdlog::warn(
        "sealing is not set up ({} does not exist): the store is NOT sealed; run "
        "trailkeepd seal-setup (docs/operations.md)",
        config.SealStatePath());
    audit->Record(SelfEventKind::kUnsealed, "",
                  "trailkeepd runs unsealed: no seal state at " + config.SealStatePath(),
                  {{"state_file", config.SealStatePath()}});
    return;
  }
  const SealStage::Opened& o = opened.value();
  std::string old_heads;
  for (const auto& h : o.old_heads) {
    old_heads += (old_heads.empty() ? "" : " ") + h.host() + ":" + std::to_string(h.chain()) + ":" +
                 std::to_string(h.seq()) + ":" + LowerHex(h.mac());
  }
  if (o.new_chain) {
    spdlog::warn("seal: new seal chain {}: {}", stage->chain(), o.reason);
  } else {
    spdlog::info("seal: chain {} under key {}", stage->chain(), stage->key_id());
  }
  // Recorded each time a chain starts (a continued one needs no event).
  if (o.new_chain || o.first_start) {
    audit->Record(SelfEventKind::kSealChainStart, "",
                  o.new_chain ? "new seal chain " + std::to_string(stage->chain()) + ": " + o.reason
                              : "seal chain " + std::to_string(stage->chain()) + " starts",
                  {{"chain", std::to_string(stage->chain())},
                   {"key_id", stage->key_id()},
                   {"period_us", std::to_string(stage->schedule().period_us)},
                   {"reason", o.new_chain ? o.reason : "first sealed start"},
                   {"old_heads", old_heads}});
  }
}

}  // namespace

int RunServer(const ServerConfig& config) {
  auto resolved = ResolveServiceUser(config.user, config.group);
  Status assumed = resolved.ok() ? AssumeServiceUser(resolved.value()) : resolved.status();
  if (!assumed.ok()) {
    spdlog::critical("{}", assumed.message());
    return 2;
  }
  const ServiceUser run_as = resolved.value();
  const FileOwner owner{RunUid(run_as), RunUserName(run_as), run_as.group};
  if (Status files = CheckStartupFiles(config, owner); !files.ok()) {
    spdlog::critical("refusing to start:\n{}", files.message());
    return 2;
  }
  RaiseFileLimit();
  // The one clock every component reads (tests give theirs a ManualClock).
  const ClockPtr clock = MakeSystemClock();
  auto opened =
      OpenRocksDbStore(config.data_dir + "/store", StoreMode::kReadWrite, config.store_memory);
  if (!opened.ok()) {
    spdlog::critical("cannot open the store: {}", opened.status().ToString());
    return 1;
  }
  std::unique_ptr<Store> store = std::move(opened).value();
  // [store] levels on this file system (percentages are of its size).
  const DiskLevels disk_levels =
      ResolveDiskLevels(config.disk, DiskSizeBytes(config.data_dir).value_or(0));
  if (const std::string why = CheckDiskLevels(disk_levels); !why.empty()) {
    spdlog::critical("{}", why);
    return 2;
  }
  store->SetReserveBytes(disk_levels.reserve_bytes);
  // Up while the store's disk is below admin_space_left: every source's data
  // is refused (server/app/space_watch.h), whatever the action.
  const auto disk_full = std::make_shared<std::atomic<bool>>(false);
  RulesHolder rules;
  const std::string rules_path = RulesPath(config);
  std::string rules_sha256;
  if (Status loaded = LoadRules(rules_path, &rules, &rules_sha256); !loaded.ok()) {
    spdlog::critical("invalid NDcPP rules:\n{}", loaded.message());
    return 1;
  }
  // The configuration file's digest and the trust anchors COLLECTOR_START
  // records, read as the service user (as every reload reads them).
  ConfigTrail config_trail(config);
  auto plain_hosts = PlainSourceHosts::Make(config.plain_sources);
  if (!plain_hosts.ok()) {
    spdlog::critical("[plain_syslog]: {}", plain_hosts.status().message());
    return 2;
  }
  // The one classifier: ingest batches, the collector's own events, audit groups.
  const ClassifyStage classify(&rules);
  // Every figure of GET /metrics: components register theirs when they are
  // made, so the registry is declared before all of them.
  CounterRegistry metrics;
  // Only the instance holding the store's lock may touch ports.json.
  std::filesystem::remove(config.data_dir + "/ports.json");
  // Declared before the committer: its listeners and stage must outlive the
  // committer thread.
  LiveTailHub tail_hub;
  IntegrityCounts integrity_counts;
  HmacKeyring keyring(config.keys_dir, clock);
  AgentRegistry agents;
  ChainVerifier verifier(store.get());
  verifier.SetKeyProblem([&keyring](const std::string& host) {
    std::string why;
    keyring.Get(host, &why);
    return why;
  });
  Committer committer(store.get(), {config.commit_queue_bytes, config.max_batch_events});
  RecordDeduper record_deduper(store.get());  // port-60 records resent after a lost ack
  // auditd: members are grouped in the commit that stores them, after the
  // stages that drop resends; a closed group is one more event, classified
  // and stored with them (server/pipeline/audit_grouping_stage.h).
  AuditGrouping audit_grouping(GroupingOptions(config));
  if (auto restored = RestoreIdentityMaps(*store, clock->NowMicros(), &audit_grouping);
      restored.ok()) {
    spdlog::info("identity maps of {} hosts restored from stored inventories", restored.value());
  } else {
    spdlog::warn("identity maps not restored (ids stay unresolved until agents resend): {}",
                 restored.status().ToString());
  }
  AuditGroupingStage grouping_stage(&audit_grouping, &classify, clock);
  TunnelStateStage tunnel_state(store.get());  // after the stages that drop events
  // The seal, last: it covers every event as stored (docs/formats/seal.md).
  auto sealing = SealStage::Open(store.get(), config.SealStatePath(), config.collector_name, clock);
  if (!sealing.ok() && sealing.status().code() != Status::Code::kNotFound) {
    spdlog::critical("cannot open the seal state {}: {}", config.SealStatePath(),
                     sealing.status().ToString());
    return 2;
  }
  std::unique_ptr<SealStage> seal_stage;
  if (sealing.ok()) seal_stage = std::move(sealing.value().stage);
  std::vector<CommitStage*> stage_list{&verifier, &record_deduper, &grouping_stage, &tunnel_state};
  if (seal_stage) stage_list.push_back(seal_stage.get());
  CommitStageChain stages(std::move(stage_list));
  committer.SetStage(&stages);
  committer.AddListener(
      [&tail_hub](const std::vector<v1::Event>& committed) { tail_hub.Publish(committed); });
  committer.AddExtrasListener(
      [&integrity_counts](const CommitExtras& extras) { integrity_counts.Add(extras); });
  CollectorEvents collector_events(&committer, &classify);

  SelfAuditOptions sa_opts;
  sa_opts.collector_host = config.collector_name;
  sa_opts.window_seconds = config.self_audit_window_seconds;
  sa_opts.burst = config.self_audit_burst;
  sa_opts.enterprise_number = config.enterprise_number;
  RateLimitedSelfAudit self_audit(
      sa_opts,
      [&collector_events](std::vector<v1::Event>* events) {
        collector_events.OfferSelfEvents(events);
      },
      clock);
  // Acks to agents and integrity alarms, after the integrity counts.
  AgentResponder agent_responder(&committer, &verifier, &agents, &self_audit);
  committer.AddExtrasListener(
      [&agent_responder](const CommitExtras& extras) { agent_responder.OnCommitted(extras); });
  store->SetReadIssueHandler(
      [&self_audit](const StoreReadIssue& issue) { RecordStoreReadIssue(issue, &self_audit); });
  committer.SetFailureHandler([&self_audit](const Status& s) {
    spdlog::error("commit failed, retrying (producers are paused): {}", s.ToString());
    self_audit.Record(SelfEventKind::kStoreError, "", "commit failed: " + s.ToString());
  });
  RecordSealStart(config, sealing, seal_stage.get(), &self_audit);
  committer.Start();

  // What the listeners and their sessions know of all this (server/net/ingest.h).
  ConnectionAudit connection_audit(&self_audit);
  IngestPipeline pipeline(
      [&committer, disk_full](std::vector<v1::Event>* e, std::function<void()> on_durable) {
        return !disk_full->load(std::memory_order_relaxed) &&
               committer.Offer(e, std::move(on_durable));
      },
      &connection_audit,
      [&committer, disk_full] {
        return !disk_full->load(std::memory_order_relaxed) && committer.HasRoom();
      },
      &classify);
  pipeline.EnableAgents({&keyring, &agents, static_cast<uint32_t>(config.enterprise_number)});
  pipeline.EnablePlainSyslog(std::move(plain_hosts).value());
  pipeline.RegisterCounters(metrics);
  AgentBinding agent_binding(
      {&agents, config.host_map,
       [&agent_responder](const std::string& host, std::weak_ptr<AgentLink> link) {
         agent_responder.RequestResume(host, std::move(link));
       }},
      &connection_audit);
  const IngestPorts ingest_ports{&pipeline, &connection_audit, &agent_binding};
  net::io_context io;
  std::unique_ptr<TlsSyslogListener> listener;
  std::unique_ptr<ExportHttpsServer> export_api;
  std::unique_ptr<AuditRemoteListener> audit_listener;
  std::unique_ptr<PlainSyslogListener> plain;
  std::unique_ptr<TunnelManager> tunnels;
  SpaceWatch space_watch(io, config.data_dir + "/store", disk_levels, config.disk.action,
                         &self_audit);
  const auto collector_metrics =
      metrics.RegisterFamily([&committer, &self_audit, &agents](std::vector<Metric>* m) {
        return AppendCollectorMetrics(committer.stats(), self_audit.suppressed_total(),
                                      agents.size(), m);
      });
  const auto space_metrics = metrics.Register({
      {"store_free_bytes", "free space on the store's disk (last check)", "gauge",
       [&space_watch] { return static_cast<double>(space_watch.free_bytes()); }, "", ""},
      {"store_space_low", "1 while the store's disk is below space_left", "gauge",
       [&space_watch] { return space_watch.low_flag()->load() ? 1.0 : 0.0; }, "", ""},
      {"store_disk_full", "1 while the store's disk is below admin_space_left", "gauge",
       [&space_watch] { return space_watch.full_flag()->load() ? 1.0 : 0.0; }, "", ""},
  });
  const auto integrity_metrics = metrics.RegisterFamily(
      [&integrity_counts](std::vector<Metric>* m) { return integrity_counts.AppendTo(m); });
  const auto tunnel_metrics = metrics.RegisterFamily([&tunnels](std::vector<Metric>* m) {
    if (tunnels) AppendTunnelMetrics(tunnels->Status(), m);
    return Status::Ok();
  });
  try {
    TlsSyslogOptions syslog_options = config.syslog;
    syslog_options.clock = clock;
    listener = std::make_unique<TlsSyslogListener>(io, syslog_options, ingest_ports, metrics);
    pipeline.SetLegacyHostRules(MakeLegacyHostRules(config, listener->BoundAddresses()));
    if (!config.audit_remote.addresses.empty()) {
      AuditRemoteOptions audit_options = config.audit_remote;
      audit_options.disk_low = space_watch.low_flag();
      audit_options.disk_full = disk_full;
      audit_options.clock = clock;
      audit_listener = std::make_unique<AuditRemoteListener>(io, audit_options, ingest_ports,
                                                             listener.get(), metrics);
      SetListenerNamings(config, audit_listener->BoundAddresses(), &audit_grouping);
    }
    PlainSyslogOptions p = config.plain_syslog;
    p.clock = clock;
    p.disk_full = disk_full;
    if (!p.udp_addresses.empty() || !p.tcp_addresses.empty()) {
      plain = std::make_unique<PlainSyslogListener>(io, p, ingest_ports, metrics);
    }
    ExportServerOptions export_options = config.export_api;
    export_options.tls = config.syslog.tls;
    export_options.enterprise_number = static_cast<uint32_t>(config.enterprise_number);
    export_options.clock = clock;
    export_options.backup_dir =
        config.backup_dir.empty() ? config.data_dir + "/backups" : config.backup_dir;
    export_api = std::make_unique<ExportHttpsServer>(
        io, export_options, store.get(), &self_audit, &metrics, &tail_hub,
        [&keyring](const std::string& host, std::string* why) { return keyring.Keys(host, why); });
    if (!config.tunnels.empty()) {
      // Forwarded channels are served in process by our own port-60 listener.
      AuditRemoteListener* port60 = audit_listener.get();
      tunnels = std::make_unique<TunnelManager>(
          io, config.tunnels, port60 ? port60->BoundAddresses() : std::vector<std::string>{},
          [port60](std::unique_ptr<ByteStream> stream, const ChannelIdentity& identity) {
            port60->Serve(std::move(stream), identity);
          },
          &self_audit, clock);
    }
    // Every port is bound: nothing below needs a privilege.
    if (Status dropped = DropPrivileges(run_as); !dropped.ok()) {
      throw std::runtime_error("cannot drop privileges, refusing to run: " + dropped.message());
    }
    WritePortsFile(config.data_dir, listener->BoundAddresses(), export_api->BoundAddresses(),
                   audit_listener ? audit_listener->BoundAddresses() : std::vector<std::string>{},
                   plain ? plain->BoundUdp() : std::vector<std::string>{},
                   plain ? plain->BoundTcp() : std::vector<std::string>{});
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    self_audit.Record(SelfEventKind::kStartup, "", std::string("start-up failed: ") + e.what());
    committer.Stop();
    return 1;
  }
  const auto bound = listener->BoundAddresses();
  std::string addrs;
  for (const auto& a : bound) addrs += (addrs.empty() ? "" : " ") + a;
  std::string api_addrs;
  for (const auto& a : export_api->BoundAddresses()) {
    api_addrs += (api_addrs.empty() ? "" : " ") + a;
  }
  std::vector<std::pair<std::string, std::string>> start_fields = {
      {"config", config.source},
      {"dev_mode", config.dev_mode ? "1" : "0"},
      {"api", api_addrs},
      {"user", owner.name}};
  for (auto& f : config_trail.StartFields()) start_fields.push_back(std::move(f));
  start_fields.emplace_back("rules_sha256", rules_sha256);
  // The retention in force, sealed: what justifies a later cut (seal.md).
  std::string overrides;
  for (const auto& [glob, us] : config.retention.overrides) {
    overrides += (overrides.empty() ? "" : " ") + glob + "=" + std::to_string(us);
  }
  start_fields.emplace_back("retention_us", std::to_string(config.retention.default_us));
  start_fields.emplace_back("retention_overrides", overrides);
  start_fields.emplace_back("seal", seal_stage ? "on" : "off");
  if (seal_stage) {
    start_fields.emplace_back("seal_key_id", seal_stage->key_id());
    start_fields.emplace_back("seal_chain", std::to_string(seal_stage->chain()));
  }
  self_audit.Record(SelfEventKind::kStartup, "", "trailkeepd started; syslog over TLS on " + addrs,
                    start_fields);
  spdlog::info("trailkeepd listening for RFC 5425 syslog on {}, HTTPS API on {} (data in {})",
               addrs, api_addrs, config.data_dir);
  if (::geteuid() != 0) {
    spdlog::info("running as {} with no capability", owner.name);
  } else {
    spdlog::warn(
        "running as root with every capability: set [server] user (docs/configuration.md)");
  }
  if (audit_listener) {
    for (const auto& a : audit_listener->BoundAddresses()) {
      spdlog::info("auditd remote logging (port-60 protocol) on {}", a);
    }
  }
  if (plain) RecordPlaintextListeners(*plain, config.plain_syslog, &self_audit);

  // The signal handlers stop the timers below: with io_threads > 1 they run on
  // other threads than the timers' handlers, and an Asio timer or signal set
  // may not be used from two threads at once. One strand serialises them all.
  const net::any_io_executor main_strand = net::make_strand(io);
  Ticker ticker(main_strand, &self_audit);
  ticker.Start();
  // The disk-full policy: what happens below admin_space_left, and after.
  DiskRotation rotation(store.get(), &committer, &self_audit, config.data_dir + "/store",
                        disk_levels.admin_bytes + disk_levels.admin_bytes / 10,
                        FormatRetention(config.retention.default_us),
                        [&space_watch] { space_watch.CheckSoon(); });
  uint64_t udp_dropped_before = 0;  // on the watch's strand
  const auto udp_dropped = [&plain] {
    return plain ? plain->counters().udp_disk_full.load() : uint64_t{0};
  };
  SpaceWatchHooks full_hooks{
      [&, disk_full](uint64_t) {
        udp_dropped_before = udp_dropped();
        disk_full->store(true);
        agent_responder.SetPaused(true, "the collector's disk is full (below admin_space_left)");
        if (config.disk.action == DiskFullAction::kRotate) rotation.Start();
      },
      [&, disk_full](uint64_t) {
        disk_full->store(false);
        agent_responder.SetPaused(false, "");
      },
      [&] {
        return std::vector<std::pair<std::string, std::string>>{
            {"udp_datagrams_dropped", std::to_string(udp_dropped() - udp_dropped_before)}};
      },
      [&](uint64_t) {
        if (config.disk.action == DiskFullAction::kRotate) rotation.Start();
      },
  };
  std::unique_ptr<SealTicker> seal_ticker;
  if (seal_stage) {
    seal_ticker =
        std::make_unique<SealTicker>(main_strand, seal_stage->schedule(), &self_audit, clock);
    seal_ticker->Start();
  }
  if (tunnels) tunnels->Start();
  // Audit events without EOE close after the grouping timeout.
  AuditGroupTimer audit_timer(main_strand, &audit_grouping, &collector_events, clock);
  audit_timer.Start();
  // [store] retention: a pass now, then periodically, on the committer thread.
  RetentionTimer retention(main_strand, config.retention, store.get(), &committer, &self_audit,
                           clock);
  retention.Start();
  TlsReload tls_reload({config.syslog.tls, owner, listener.get(), export_api.get(), &self_audit});
  HangupReload reload(main_strand, {&config, owner, rules_path, &rules, &keyring, export_api.get(),
                                    &self_audit, &tls_reload, &config_trail, rules_sha256});
  reload.Start();
  // The exit status: 0, or kExitDiskFull once disk_full_action "halt" ran.
  int exit_code = 0;
  std::string stop_reason;
  net::signal_set signals(main_strand, SIGINT, SIGTERM);
  // On main_strand: a termination signal, or the halt of the disk-full policy.
  const std::function<void()> shut_down = [&] {
    listener->Stop();
    if (plain) plain->Stop();
    if (audit_listener) audit_listener->Stop();
    if (tunnels) tunnels->Stop();
    export_api->Stop();
    ticker.Stop();
    if (seal_ticker) seal_ticker->Stop();
    space_watch.Stop();
    audit_timer.Stop();
    retention.Stop();
    reload.Stop();
    // Give sessions a moment to hand over frames already read, then stop.
    auto timer = std::make_shared<net::steady_timer>(io, std::chrono::milliseconds(200));
    auto held = [&counters = listener->counters(), &plain] {
      return counters.frames_held.load() + (plain ? plain->counters().frames_held.load() : 0);
    };
    timer->async_wait([timer, &io, held](boost::system::error_code) {
      StopWhenHandedOver(io, held, timer,
                         std::chrono::steady_clock::now() + std::chrono::seconds(10));
    });
  };
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    shut_down();
  });
  if (config.disk.action == DiskFullAction::kHalt) {
    // DISK_FULL is recorded (by the watch, before this hook); what was taken
    // is committed by the usual shutdown, then the process exits with a
    // status its unit does not restart on (deploy/trailkeepd.service).
    full_hooks.on_full = [&, disk_full, full = full_hooks.on_full](uint64_t free_bytes) {
      full(free_bytes);
      net::post(main_strand, [&, disk_full] {
        if (exit_code != 0) return;
        exit_code = kExitDiskFull;
        stop_reason = "disk_full_halt";
        spdlog::critical(
            "disk_full_action = \"halt\": stopping; free space on the store's disk, "
            "then start trailkeepd again");
        signals.cancel();
        shut_down();
        // Frames sessions read before the listeners closed are handed over
        // and committed (above the reserve there is room for them).
        disk_full->store(false);
      });
    };
  }
  space_watch.SetHooks(std::move(full_hooks));
  space_watch.Start();

  unsigned n = config.io_threads > 0 ? static_cast<unsigned>(config.io_threads)
                                     : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();

  // Open audit events, incomplete, before COLLECTOR_STOP: it carries every
  // host's seal head (docs/formats/seal.md), so they are covered.
  audit_timer.Flush();
  const auto& c = listener->counters();
  std::vector<std::pair<std::string, std::string>> stop_fields;
  if (!stop_reason.empty()) stop_fields.emplace_back("reason", stop_reason);
  self_audit.Record(
      SelfEventKind::kShutdown, "",
      std::string(stop_reason.empty() ? "" : "disk full, halting: ") + "trailkeepd stopping; " +
          std::to_string(c.frames.load()) + " frames received, " +
          std::to_string(c.refused.load()) + " connections refused" +
          (c.frames_held.load() > 0 ? ", " + std::to_string(c.frames_held.load()) +
                                          " frames read but not handed over in 10 s (not stored)"
                                    : ""),
      stop_fields);
  self_audit.Flush();
  committer.Stop();
  if (seal_stage && !seal_stage->state_error().empty()) {
    spdlog::error("seal state: {}", seal_stage->state_error());
  }
  const auto stats = committer.stats();
  spdlog::info("stopped: {} events committed in {} commits, {} not stored", stats.events_committed,
               stats.commits, stats.events_abandoned);
  std::filesystem::remove(config.data_dir + "/ports.json");
  return exit_code;
}

}  // namespace trailkeep
