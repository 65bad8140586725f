// trailkeepd: the collector, and the local store tools that open its RocksDB.
//
//   trailkeepd --config FILE | --dev DIR [--listen-syslog ADDR]... [--listen-export ADDR]...
//   trailkeepd --check-config --config FILE
//   trailkeepd query --db DIR [--host GLOB] [--since T] [--until T] [--ref SFR]
//                    [--text TEXT] [--limit N] [--format text|json]
//   trailkeepd hosts --db DIR [--format text|json]
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "server/app/config.h"
#include "server/app/server.h"
#include "server/app/store_tools.h"

namespace {

constexpr char kVersion[] = "0.1.0";

void PrintDevHelp(const trailkeep::ServerConfig& c, const std::string& dev_dir) {
  std::string port = c.syslog.addresses.front();
  port = port.substr(port.rfind(':') + 1);
  const std::string pki = c.syslog.tls.ca_file.substr(0, c.syslog.tls.ca_file.rfind('/'));
  std::cout << "trailkeepd " << kVersion << " in development mode (data and throwaway PKI in "
            << dev_dir << ")\n\n"
            << "Send it something (TLS with the dev client certificate):\n"
            << "  echo '<13>1 - myhost myapp - - - hello trailkeep' | openssl s_client -quiet "
               "-no_ign_eof -connect 127.0.0.1:"
            << port << " -CAfile " << pki << "/ca.pem -cert " << pki << "/client.pem -key " << pki
            << "/client.key\n"
            << "  loggen -U -P -n 100 127.0.0.1 " << port
            << "      # syslog-ng's loggen: no client certificate, marked unauthenticated\n\n"
            << "Read it back (works while the collector runs):\n"
            << "  build/bin/trailkeepd query --db " << dev_dir << " --since 15m\n"
            << "  build/bin/trailkeepd query --db " << dev_dir << " --format json --limit 5\n"
            << "  build/bin/trailkeepd hosts --db " << dev_dir << "\n";
  if (!c.export_api.addresses.empty()) {
    std::string api = c.export_api.addresses.front();
    api = api.substr(api.rfind(':') + 1);
    std::cout << "  curl --cacert " << pki << "/ca.pem -H \"Authorization: Bearer $(cat " << dev_dir
              << "/admin.token)\" 'https://127.0.0.1:" << api << "/v1/events?limit=5'\n"
              << "  build/bin/trailkeep tail --server https://127.0.0.1:" << api << " --cacert "
              << pki << "/ca.pem --token-file " << dev_dir << "/admin.token -n 5\n";
  }
  std::cout << "\n"
            << "Ctrl-C stops it.\n"
            << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trailkeepd: remote syslog and audit collector"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(0, 1);

  std::string config_file, dev_dir, log_level;
  std::vector<std::string> listen_syslog, listen_export;
  bool check_config = false;
  auto* cfg_opt = app.add_option("--config", config_file, "TOML configuration file");
  auto* dev_opt = app.add_option("--dev", dev_dir,
                                 "development mode: data and a throwaway PKI under DIR, loopback");
  cfg_opt->excludes(dev_opt);
  app.add_option("--listen-syslog", listen_syslog,
                 "RFC 5425 listen address host:port (repeatable; port 0 picks a free port)");
  app.add_option("--listen-export", listen_export,
                 "HTTPS API listen address host:port (repeatable; port 0 picks a free port)");
  app.add_flag("--check-config", check_config, "validate --config and exit");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");

  trailkeep::QueryOptions q;
  auto* query = app.add_subcommand("query", "print stored events (local store)");
  query->add_option("--db", q.db, "data folder of the collector")->required();
  query->add_option("--host", q.host, "source host glob, e.g. 'api-*'");
  query->add_option("--since", q.since, "receive time lower bound: RFC 3339 or 15m, 2h, 7d");
  query->add_option("--until", q.until, "receive time upper bound: RFC 3339 or 15m, 2h, 7d");
  query->add_option("--ref", q.ref, "NDcPP SFR reference, e.g. FIA_UIA_EXT.1");
  query->add_option("--text", q.text, "case-insensitive substring of the message");
  query->add_option("--limit", q.limit, "stop after N events");
  query->add_option("--format", q.format, "text or json")->check(CLI::IsMember({"text", "json"}));

  std::string hosts_db, hosts_format = "text";
  auto* hosts = app.add_subcommand("hosts", "list source hosts with counts (local store)");
  hosts->add_option("--db", hosts_db, "data folder of the collector")->required();
  hosts->add_option("--format", hosts_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));

  CLI11_PARSE(app, argc, argv);

  if (*query) return trailkeep::RunQuery(q);
  if (*hosts) return trailkeep::RunHosts(hosts_db, hosts_format);

  auto console = spdlog::stderr_color_mt("trailkeepd");
  spdlog::set_default_logger(console);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  trailkeep::ServerConfig config;
  if (!dev_dir.empty()) {
    if (check_config) {
      std::cerr << "trailkeepd: --check-config needs --config FILE\n";
      return 2;
    }
    try {
      config = trailkeep::MakeDevConfig(dev_dir);
    } catch (const std::exception& e) {
      std::cerr << "trailkeepd: development mode: " << e.what() << "\n";
      return 1;
    }
  } else if (!config_file.empty()) {
    auto errors = trailkeep::LoadConfig(config_file, &config);
    for (const auto& e : errors) std::cerr << e.ToString() << "\n";
    if (!errors.empty()) {
      std::cerr << "trailkeepd: " << errors.size() << " configuration error"
                << (errors.size() == 1 ? "" : "s") << "\n";
      return 2;
    }
    if (check_config) {
      std::cout << config_file << ": OK\n";
      return 0;
    }
  } else {
    std::cerr << "trailkeepd: give --config FILE or --dev DIR (see --help)\n";
    return 2;
  }
  if (!listen_syslog.empty()) config.syslog.addresses = listen_syslog;
  if (!listen_export.empty()) config.export_api.addresses = listen_export;
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? config.log_level : log_level));
  if (config.dev_mode) {
    // Resolve the actual port in the help text only when it is fixed.
    if (config.syslog.addresses.front().substr(config.syslog.addresses.front().rfind(':')) !=
        ":0") {
      PrintDevHelp(config, dev_dir);
    }
  }
  return trailkeep::RunServer(config);
}
