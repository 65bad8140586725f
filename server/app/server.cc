#include "server/app/server.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "common/base/time_format.h"
#include "server/net/tls_syslog_listener.h"
#include "server/pipeline/ingest_pipeline.h"
#include "server/selfaudit/self_audit.h"
#include "server/store/committer.h"
#include "server/store/store.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;

// ports.json: every bound address per listener kind, written atomically so a
// test polling for it never reads half a file.
void WritePortsFile(const std::string& data_dir, const std::vector<std::string>& syslog) {
  std::string json = "{\"syslog\": [";
  for (size_t i = 0; i < syslog.size(); ++i) {
    if (i > 0) json += ", ";
    json += "\"" + syslog[i] + "\"";
  }
  json += "], \"pid\": " + std::to_string(getpid()) + "}\n";
  const std::string tmp = data_dir + "/ports.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json;
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, data_dir + "/ports.json");
}

// Periodic housekeeping on the io_context: self-audit windows, stats log.
class Ticker {
 public:
  Ticker(net::io_context& io, RateLimitedSelfAudit* audit) : timer_(io), audit_(audit) {}
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

}  // namespace

int RunServer(const ServerConfig& config) {
  RaiseFileLimit();
  std::filesystem::create_directories(config.data_dir);
  auto opened = OpenRocksDbStore(config.data_dir + "/store", StoreMode::kReadWrite);
  if (!opened.ok()) {
    spdlog::critical("cannot open the store: {}", opened.status().ToString());
    return 1;
  }
  std::unique_ptr<Store> store = std::move(opened).value();
  // Only the instance holding the store's lock may touch ports.json.
  std::filesystem::remove(config.data_dir + "/ports.json");
  Committer committer(store.get(), {config.commit_queue_bytes, config.max_batch_events});

  SelfAuditOptions sa_opts;
  sa_opts.collector_host = config.collector_name;
  sa_opts.window_seconds = config.self_audit_window_seconds;
  sa_opts.burst = config.self_audit_burst;
  sa_opts.enterprise_number = config.enterprise_number;
  RateLimitedSelfAudit self_audit(
      sa_opts,
      [&committer](std::vector<v1::Event>* events) {
        for (const auto& e : *events) {
          const int severity = e.pri() % 8;
          const auto level = severity <= 3   ? spdlog::level::err
                             : severity == 4 ? spdlog::level::warn
                                             : spdlog::level::info;
          spdlog::log(level, "{}: {}", e.msgid(), e.msg());
        }
        committer.OfferUnbounded(events);
      },
      NowMicros);
  committer.SetFailureHandler([&self_audit](const Status& s) {
    spdlog::error("commit failed, retrying (producers are paused): {}", s.ToString());
    self_audit.Record(SelfEventKind::kStoreError, "", "commit failed: " + s.ToString());
  });
  committer.Start();

  IngestPipeline pipeline([&committer](std::vector<v1::Event>* e) { return committer.Offer(e); },
                          &self_audit, [&committer] { return committer.HasRoom(); });

  net::io_context io;
  std::unique_ptr<TlsSyslogListener> listener;
  try {
    listener = std::make_unique<TlsSyslogListener>(io, config.syslog, &pipeline);
    WritePortsFile(config.data_dir, listener->BoundAddresses());
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    self_audit.Record(SelfEventKind::kStartup, "", std::string("start-up failed: ") + e.what());
    committer.Stop();
    return 1;
  }
  const auto bound = listener->BoundAddresses();
  std::string addrs;
  for (const auto& a : bound) addrs += (addrs.empty() ? "" : " ") + a;
  self_audit.Record(SelfEventKind::kStartup, "", "trailkeepd started; syslog over TLS on " + addrs,
                    {{"config", config.source}, {"dev_mode", config.dev_mode ? "1" : "0"}});
  spdlog::info("trailkeepd listening for RFC 5425 syslog on {} (data in {})", addrs,
               config.data_dir);

  Ticker ticker(io, &self_audit);
  ticker.Start();
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    listener->Stop();
    ticker.Stop();
    // Give sessions a moment to hand over frames already read, then stop.
    auto timer = std::make_shared<net::steady_timer>(io, std::chrono::milliseconds(200));
    timer->async_wait([timer, &io](boost::system::error_code) { io.stop(); });
  });

  unsigned n = config.io_threads > 0 ? static_cast<unsigned>(config.io_threads)
                                     : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();

  const auto& c = listener->counters();
  self_audit.Record(SelfEventKind::kShutdown, "",
                    "trailkeepd stopping; " + std::to_string(c.frames.load()) +
                        " frames received, " + std::to_string(c.refused.load()) +
                        " connections refused");
  self_audit.Flush();
  committer.Stop();
  const auto stats = committer.stats();
  spdlog::info("stopped: {} events committed in {} commits, {} not stored", stats.events_committed,
               stats.commits, stats.events_abandoned);
  std::filesystem::remove(config.data_dir + "/ports.json");
  return 0;
}

}  // namespace trailkeep
