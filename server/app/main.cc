// trailkeepd: the collector, and the local store tools that open its RocksDB.
//
//   trailkeepd --config FILE | --dev DIR [--listen-syslog ADDR]... [--listen-export ADDR]...
//              [--listen-audit ADDR]... [--listen-udp ADDR]... [--listen-tcp ADDR]...
//              [--rules FILE|none]
//   trailkeepd --check-config --config FILE
//   trailkeepd query --db DIR [--host GLOB] [--since T] [--until T] [--ref SFR]
//                    [--text TEXT] [--hostname-mismatch | --hostname-match] [--limit N]
//                    [--format text|json]
//   trailkeepd hosts --db DIR [--format text|json]
//   trailkeepd report --db DIR auth|logins|time-changes|updates|tls-failures|ndcpp [--failed]
//              [--since T] [--until T] [--host GLOB] [--hostname-mismatch | --hostname-match]
//              [--format text|json]
//   trailkeepd verify --db DIR --host H [--key FILE | --keys-dir DIR]
//   trailkeepd enroll HOST --out DIR [--config FILE | --dev DIR] [--days N] [--force]
//   trailkeepd enroll HOST --rotate --out DIR [--config FILE | --dev DIR] [--force]
//   trailkeepd backup --config FILE | --dev DIR [--server URL] [--cacert FILE]
//              [--token-file FILE] [--cert FILE --key FILE]
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "common/base/clock.h"
#include "server/app/backup_tool.h"
#include "server/app/config.h"
#include "server/app/enroll.h"
#include "server/app/file_access.h"
#include "server/app/privileges.h"
#include "server/app/report_tool.h"
#include "server/app/seal_setup.h"
#include "server/app/server.h"
#include "server/app/store_tools.h"
#include "server/app/verify_tool.h"
#include "server/net/tls_context.h"
#include "server/report/report.h"

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
  std::vector<std::string> listen_syslog, listen_export, listen_audit, listen_udp, listen_tcp;
  bool check_config = false;
  auto* cfg_opt = app.add_option("--config", config_file, "TOML configuration file");
  auto* dev_opt = app.add_option("--dev", dev_dir,
                                 "development mode: data and a throwaway PKI under DIR, loopback");
  cfg_opt->excludes(dev_opt);
  app.add_option("--listen-syslog", listen_syslog,
                 "RFC 5425 listen address host:port (repeatable; port 0 picks a free port)");
  app.add_option("--listen-export", listen_export,
                 "HTTPS API listen address host:port (repeatable; port 0 picks a free port)");
  app.add_option("--listen-audit", listen_audit,
                 "auditd remote-logging listen address host:port, usually 127.0.0.1:60 "
                 "(repeatable; port 0 picks a free port)");
  app.add_option("--listen-udp", listen_udp,
                 "plaintext syslog over UDP (RFC 5426, unauthenticated) host:port (repeatable)");
  app.add_option("--listen-tcp", listen_tcp,
                 "plaintext syslog over TCP (RFC 6587, unauthenticated) host:port (repeatable)");
  app.add_flag("--check-config", check_config, "validate --config and exit");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  std::string rules_override;
  app.add_option("--rules", rules_override,
                 "NDcPP rules file, or none (no classification); overrides [ndcpp] rules_file");

  trailkeep::QueryOptions q;
  auto* query = app.add_subcommand("query", "print stored events (local store)");
  query->add_option("--db", q.db, "data folder of the collector")->required();
  query->add_option("--host", q.host, "source host glob, e.g. 'api-*'");
  query->add_option("--since", q.since, "receive time lower bound: RFC 3339 or 15m, 2h, 7d");
  query->add_option("--until", q.until, "receive time upper bound: RFC 3339 or 15m, 2h, 7d");
  query->add_option("--ref", q.ref, "NDcPP SFR reference, e.g. FIA_UIA_EXT.1");
  query->add_option("--text", q.text, "case-insensitive substring of the message");
  query->add_flag("--hostname-mismatch", q.hostname_mismatch,
                  "only legacy events whose sender's certificate does not speak for their host");
  query->add_flag("--hostname-match", q.hostname_match, "only events without that mark")
      ->excludes("--hostname-mismatch");
  query->add_option("--limit", q.limit, "stop after N events");
  query->add_option("--format", q.format, "text or json")->check(CLI::IsMember({"text", "json"}));

  trailkeep::ReportToolOptions rep;
  auto* report = app.add_subcommand(
      "report", "fleet reports by NDcPP SFR (local store): " + [] {
        std::string names;
        for (const auto& n : trailkeep::ReportNames()) names += (names.empty() ? "" : ", ") + n;
        return names;
      }());
  report->add_option("name", rep.name, "the report")
      ->required()
      ->check(CLI::IsMember(trailkeep::ReportNames()));
  report->add_option("--db", rep.db, "data folder of the collector")->required();
  report->add_flag("--failed", rep.failed, "auth: failures only");
  report->add_option("--since", rep.since, "receive time lower bound: RFC 3339 or 15m, 2h, 7d");
  report->add_option("--until", rep.until, "receive time upper bound: RFC 3339 or 15m, 2h, 7d");
  report->add_option("--host", rep.host, "source host glob, e.g. 'api-*'");
  report->add_flag("--hostname-mismatch", rep.hostname_mismatch,
                   "only legacy events whose sender's certificate does not speak for their host");
  report->add_flag("--hostname-match", rep.hostname_match, "only events without that mark")
      ->excludes("--hostname-mismatch");
  report->add_option("--format", rep.format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));

  std::string hosts_db, hosts_format = "text";
  auto* hosts = app.add_subcommand("hosts", "list source hosts with counts (local store)");
  hosts->add_option("--db", hosts_db, "data folder of the collector")->required();
  hosts->add_option("--format", hosts_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));

  trailkeep::VerifyOptions v;
  auto* verify = app.add_subcommand(
      "verify",
      "re-check a host's stored HMAC chain (--host), or the whole store's seal (--seal-key), "
      "from scratch (local store); exit 1 if broken");
  verify->add_option("--db", v.db, "data folder of the collector")->required();
  auto* verify_host = verify->add_option("--host", v.host, "source host (exact name)");
  auto* verify_seal =
      verify->add_option("--seal-key", v.seal_key_file,
                         "the seal's verification key (trailkeepd seal-setup): check every "
                         "stored event's seal, ticks and cuts (docs/formats/seal.md)");
  verify_host->excludes(verify_seal);
  auto* verify_key = verify->add_option("--key", v.key_file, "the host's HMAC key file");
  auto* verify_keys =
      verify->add_option("--keys-dir", v.keys_dir,
                         "folder of <host>.key files (default: 'keys' beside the data folder)");
  verify_key->excludes(verify_keys);
  verify->add_option("--enterprise-number", v.enterprise_number,
                     "private enterprise number of the chain's SD-ID (default 32473)");

  trailkeep::SealSetupOptions ss;
  auto* seal_setup = app.add_subcommand(
      "seal-setup", "set sealing up once: the verification key to keep offline, the state file");
  auto* ss_cfg = seal_setup->add_option("--config", ss.config_file, "the collector's TOML config");
  auto* ss_dev = seal_setup->add_option("--dev", ss.dev_dir, "the development-mode folder");
  ss_cfg->excludes(ss_dev);
  seal_setup
      ->add_option("--verification-key-out", ss.key_out,
                   "where to write the verification key (never inside the data folder)")
      ->required();
  seal_setup->add_option("--period", ss.period, "key period (default [seal] period, 15m)");

  trailkeep::EnrollOptions en;
  auto* enroll = app.add_subcommand(
      "enroll", "make an agent's certificate, HMAC key and config; install the key in keys_dir");
  enroll->add_option("HOST", en.host, "the agent's host name (DNS name)")->required();
  enroll->add_option("--out", en.out_dir, "folder to create for the agent's files")->required();
  auto* enroll_cfg = enroll->add_option("--config", en.config_file, "the collector's TOML config");
  auto* enroll_dev =
      enroll->add_option("--dev", en.dev_dir, "the collector's development-mode folder");
  enroll_cfg->excludes(enroll_dev);
  enroll->add_option("--days", en.days, "certificate validity in days (default 825)");
  enroll->add_flag("--force", en.force,
                   "re-enrol an enrolled host: a new certificate, the same HMAC key (the chain "
                   "goes on); overwrite files in --out");
  enroll->add_flag("--rotate", en.rotate,
                   "rotate an enrolled host's HMAC key: a new key in keys_dir and in --out "
                   "(hmac.key), the old one kept as retired; the certificate is left alone");

  trailkeep::BackupToolOptions bk;
  auto* backup = app.add_subcommand(
      "backup", "ask the running collector for a consistent copy of its store (admin API call)");
  auto* backup_cfg = backup->add_option("--config", bk.config_file, "the collector's TOML config");
  auto* backup_dev =
      backup->add_option("--dev", bk.dev_dir, "the collector's development-mode folder");
  backup_cfg->excludes(backup_dev);
  backup->add_option("--server", bk.server,
                     "the API, https://HOST:PORT (default: data_dir/ports.json)");
  backup->add_option("--cacert", bk.cacert, "CA of the API's certificate (default: [tls] ca_file)");
  backup->add_option("--token-file", bk.token_file, "admin token (--dev: DIR/admin.token)");
  backup->add_option("--cert", bk.cert, "client certificate with the admin scope");
  backup->add_option("--key", bk.key, "its private key");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; every usage error exits 2 (CLI11's own codes
    // are 105-109), as the docs promise and as scripts test for.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*query) return trailkeep::RunQuery(q);
  if (*hosts) return trailkeep::RunHosts(hosts_db, hosts_format);
  if (*report) return trailkeep::RunReport(rep);
  if (*verify) return trailkeep::RunVerify(v);
  if (*seal_setup) return trailkeep::RunSealSetup(ss);
  if (*enroll) return trailkeep::RunEnroll(en);
  if (*backup) return trailkeep::RunBackupTool(bk);

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
      if (!std::filesystem::exists(config.SealStatePath())) {
        // Development mode seals too: the verification key goes beside the
        // data folder, never in it.
        std::string out = dev_dir + "/seal-verification.key";
        for (int n = 2; std::filesystem::exists(out); ++n) {
          out = dev_dir + "/seal-verification-" + std::to_string(n) + ".key";
        }
        auto id = trailkeep::SetUpSealing(config.SealStatePath(), out, config.data_dir,
                                          config.seal_period_us,
                                          trailkeep::MakeSystemClock()->NowMicros());
        if (!id.ok()) {
          std::cerr << "trailkeepd: development mode: sealing: " << id.status().message() << "\n";
          return 1;
        }
        spdlog::info(
            "sealing set up: key {}; verification key in {} (trailkeepd verify "
            "--seal-key {} --db {})",
            id.value(), out, out, dev_dir);
      }
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
      // Keys the collector reads after start-up, as far as checkable from here.
      auto run_as = trailkeep::ResolveServiceUser(config.user, config.group);
      const trailkeep::FileOwner owner{trailkeep::RunUid(run_as.value()),
                                       trailkeep::RunUserName(run_as.value()),
                                       run_as.value().group};
      auto problems = trailkeep::CheckPrivateKeys(config, owner);
      if (auto s = trailkeep::CheckDataDirCreatable(config.data_dir, owner); !s.ok()) {
        problems.push_back(s.message());
      }
      // The certificate, its key and the CA as the listeners load them (a key
      // that does not match its certificate shows here, not at start).
      try {
        trailkeep::MakeServerTlsContext(config.syslog.tls);
      } catch (const std::exception& e) {
        problems.push_back(std::string("tls: ") + e.what());
      }
      for (const auto& p : problems) std::cerr << config_file << ": " << p << "\n";
      if (!problems.empty()) return 2;
      std::cout << config_file << ": OK\n";
      return 0;
    }
  } else {
    std::cerr << "trailkeepd: give --config FILE or --dev DIR (see --help)\n";
    return 2;
  }
  if (!listen_syslog.empty()) config.syslog.addresses = listen_syslog;
  if (!listen_export.empty()) config.export_api.addresses = listen_export;
  if (!listen_audit.empty()) config.audit_remote.addresses = listen_audit;
  if (!listen_udp.empty()) config.plain_syslog.udp_addresses = listen_udp;
  if (!listen_tcp.empty()) config.plain_syslog.tcp_addresses = listen_tcp;
  if (!rules_override.empty()) config.rules_file = rules_override;
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
