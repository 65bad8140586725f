// trailkeep: the agent and network client. It never links RocksDB.
//
//   trailkeep parse [--format json|text] [FILE]
//       Parses syslog lines (one per line, or RFC 6587 octet-counted frames)
//       from FILE or stdin exactly as the collector does and prints each as
//       the event JSON of docs/event-schema.md: a way to test what the
//       collector will make of a sender's lines, with no collector at all.
//
//   trailkeep classify [--rules FILE] [FILE|-]
//       Parses each input line as one syslog event and classifies it with the
//       NDcPP rules file (docs/ndcpp.md), printing one event JSON per line with
//       `refs` and `description`. Default rules: the installed
//       <dir of executable>/../share/trailkeep/ndcpp_rules.toml.
//
//   trailkeep tail  --server https://HOST:PORT [--host GLOB] [--ref SFR] [-q TEXT] [-n N]
//                   [--cursor C] [--format text|json]
//   trailkeep query --server URL [--host --ref --since --until -q --limit --cursor --format]
//   trailkeep hosts --server URL [--format text|json]
//   trailkeep backup --server URL
//       The collector's HTTPS API over the network (docs/api.md): auth with
//       --cacert, --cert/--key and/or --token-file, or the client config
//       (~/.config/trailkeep/client.toml, --client-config FILE).
//
//   trailkeep forward --config FILE
//       The agent: follows the configured log files (and the audisp shim's
//       socket), chains and signs each line as an RFC 5424 event, spools it
//       durably and sends it to the collector over TLS until acknowledged
//       (agent/forwarder.h; example config deploy/agent.toml).
//
//   trailkeep audisp --socket PATH
//       auditd dispatcher plugin (deploy/audisp-trailkeep.conf): relays audit
//       records from stdin to the forwarder's socket, resending what the
//       forwarder has not acknowledged (agent/audisp_shim.h).
//
//   trailkeep verify --export FILE (--key KEYFILE | --keys-dir DIR) [--host H]
//       Re-verifies the HMAC chain of an NDJSON export offline: OK N events and
//       exit 0, or each broken range and exit 1 (agent/verify_export.h).
//   trailkeep verify --server URL --host H
//   trailkeep verify --seal-key FILE (--export FILE | --server URL) [--host GLOB]
//       The store's seal, checked here with the operator's verification key
//       (agent/seal_export_check.h); exit 0 clean, 1 findings, 2 errors.
//       The same check run by the collector on its store (GET /v1/verify).
//   trailkeep integrity --server URL [--since T] [--host GLOB] [--kind K]
//       The integrity events the collector recorded (agent/cli_integrity.h).
//   trailkeep report --server URL NAME [--since T] [--host GLOB] [--failed]
//       A fleet report built by the collector (agent/cli_report.h).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "agent/agent_config.h"
#include "agent/audisp_shim.h"
#include "agent/classify_command.h"
#include "agent/cli_integrity.h"
#include "agent/cli_remote.h"
#include "agent/cli_report.h"
#include "agent/forwarder.h"
#include "agent/seal_export_check.h"
#include "agent/verify_export.h"
#include "common/base/clock.h"
#include "common/event/event_format.h"
#include "common/ndcpp/rules.h"
#include "common/syslog/syslog_parser.h"
#include "common/wire/octet_framer.h"
#include "trailkeep/v1/record.pb.h"

namespace {

constexpr char kVersion[] = "0.1.0";

int RunParse(const std::string& file, const std::string& format, size_t max_frame,
             const trailkeep::Clock& clock) {
  std::istream* in = &std::cin;
  std::ifstream f;
  if (!file.empty() && file != "-") {
    f.open(file, std::ios::binary);
    if (!f) {
      std::cerr << "trailkeep parse: cannot open " << file << "\n";
      return 1;
    }
    in = &f;
  }
  trailkeep::OctetFramer framer(max_frame);
  char buf[65536];
  std::string_view frame;
  trailkeep::OctetFramer::Kind kind;
  auto emit = [&](std::string_view bytes) {
    trailkeep::v1::Event e;
    const int64_t now = clock.NowMicros();
    trailkeep::ParseSyslog(bytes, now, &e);
    e.set_receive_time_us(now);
    e.set_host(e.hostname());
    e.set_integrity(trailkeep::v1::INTEGRITY_UNSIGNED);
    e.set_raw(std::string(bytes));
    std::cout << (format == "json" ? trailkeep::EventToJson(e) : trailkeep::EventToText(e)) << "\n";
  };
  while (in->read(buf, sizeof buf) || in->gcount() > 0) {
    framer.Feed(std::string_view(buf, static_cast<size_t>(in->gcount())));
    trailkeep::OctetFramer::Result r;
    while ((r = framer.Next(&frame, &kind)) == trailkeep::OctetFramer::Result::kFrame) emit(frame);
    if (r == trailkeep::OctetFramer::Result::kError) {
      std::cerr << "trailkeep parse: " << framer.error() << "\n";
      return 1;
    }
  }
  // A last line without LF is still a line here (files often end so).
  if (!framer.Pending().empty()) emit(framer.Pending());
  return 0;
}

// The forwarder and the shim log to stderr (systemd and auditd keep it).
void LogToStderr(const std::string& name) {
  auto logger = spdlog::stderr_logger_mt(name);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
}

int RunForward(const std::string& config_path) {
  LogToStderr("trailkeep-forward");
  auto config = trailkeep::agent::LoadAgentConfig(config_path);
  if (!config.ok()) {
    std::cerr << "trailkeep forward: invalid configuration:\n" << config.status().message() << "\n";
    return 2;
  }
  auto forwarder = trailkeep::agent::Forwarder::Create(std::move(config).value());
  if (!forwarder.ok()) {
    spdlog::critical("trailkeep forward: cannot start: {}", forwarder.status().message());
    return 1;
  }
  return forwarder.value()->Run();
}

int RunAudisp(const std::string& socket_path) {
  LogToStderr("trailkeep-audisp");
  trailkeep::agent::ShimOptions options;
  options.socket_path = socket_path;
  options.in_fd = STDIN_FILENO;
  return trailkeep::agent::RunAudispShim(options);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"trailkeep: trailkeep agent and client"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);

  std::string file, format = "json";
  size_t max_frame = 64 * 1024;
  auto* parse = app.add_subcommand("parse", "parse syslog lines as the collector does");
  parse->add_option("file", file, "input file (default: stdin)");
  parse->add_option("--format", format, "json or text")->check(CLI::IsMember({"json", "text"}));
  parse->add_option("--max-frame", max_frame, "largest frame in bytes");

  trailkeep::agent::ClassifyOptions classify_options;
  auto* classify = app.add_subcommand(
      "classify",
      "classify log lines with the NDcPP rules: one line is one event (consecutive auditd "
      "records of one serial form one event), printed as JSON with `refs` and `description`");
  classify->add_option("file", classify_options.file,
                       "input file, or - for stdin (default: stdin)");
  classify->add_option("--rules", classify_options.rules_path,
                       "rules file (default: <exe dir>/../share/trailkeep/ndcpp_rules.toml)");
  classify->add_option("--format", classify_options.format, "json or text")
      ->check(CLI::IsMember({"json", "text"}));
  classify->add_option(
      "--identity", classify_options.identity_file,
      "inventory JSON {\"users\":{..},\"groups\":{..}} naming ids in audit records");

  // The network commands share the connection flags.
  trailkeep::ClientOptions client;
  std::string client_config;
  auto add_client_flags = [&](CLI::App* cmd, const char* key_flag = "--key") {
    cmd->add_option("--server", client.server,
                    "collector API, https://HOST:PORT (default port 8443)");
    cmd->add_option("--cacert", client.cacert,
                    "CA certificate (PEM) the server certificate must verify against");
    cmd->add_option("--cert", client.cert, "client certificate (PEM) for mTLS");
    cmd->add_option(key_flag, client.key, "the client certificate's private key (PEM)");
    cmd->add_option("--token-file", client.token_file, "file holding a bearer token");
    cmd->add_option("--client-config", client_config,
                    "client config (default: ~/.config/trailkeep/client.toml)");
  };
  auto add_filter_flags = [](CLI::App* cmd, trailkeep::RemoteFilter* f) {
    cmd->add_option("--host", f->host, "host glob, e.g. 'api-*'");
    cmd->add_option("--ref", f->ref, "NDcPP SFR reference, e.g. FIA_UIA_EXT.1");
    cmd->add_option("-q,--text", f->text, "case-insensitive substring of the message");
  };

  trailkeep::TailArgs tail_args;
  uint64_t tail_cursor = 0;
  auto* tail = app.add_subcommand(
      "tail", "print the last N matching events of a collector, then follow new ones");
  add_client_flags(tail);
  add_filter_flags(tail, &tail_args.filter);
  tail->add_option("-n,--lines", tail_args.backlog, "how many stored events to print first");
  auto* cursor_opt = tail->add_option(
      "--cursor", tail_cursor, "resume point: every event after this ingest_seq, then follow");
  tail->add_option("--format", tail_args.format, "text or json")
      ->check(CLI::IsMember({"json", "text"}));

  trailkeep::QueryArgs query_args;
  auto* query = app.add_subcommand("query", "stored events of a collector, in ingest order");
  add_client_flags(query);
  add_filter_flags(query, &query_args.filter);
  query->add_option("--since", query_args.filter.since, "RFC 3339 time or a duration (15m, 2h)");
  query->add_option("--until", query_args.filter.until, "RFC 3339 time or a duration");
  query->add_option("--limit", query_args.limit, "at most this many events (default: all)");
  query->add_option("--cursor", query_args.cursor, "start after this ingest_seq");
  query->add_option("--format", query_args.format, "json or text")
      ->check(CLI::IsMember({"json", "text"}));

  std::string hosts_format = "text";
  auto* hosts = app.add_subcommand("hosts", "the source hosts a collector knows");
  add_client_flags(hosts);
  hosts->add_option("--format", hosts_format, "text or json")
      ->check(CLI::IsMember({"json", "text"}));

  std::string forward_config;
  auto* backup = app.add_subcommand(
      "backup", "ask a running collector for a consistent copy of its store (admin scope)");
  add_client_flags(backup);

  auto* forward = app.add_subcommand(
      "forward", "the agent: spool and forward local logs to a collector (deploy/agent.toml)");
  forward->add_option("--config", forward_config, "agent configuration file")->required();

  std::string audisp_socket = "/run/trailkeep/audisp.sock";
  auto* audisp = app.add_subcommand(
      "audisp", "auditd dispatcher plugin: relay audit records from stdin to `trailkeep forward`");
  audisp->add_option("--socket", audisp_socket, "the forwarder's [audisp] socket");

  std::string verify_export, verify_key, verify_host, verify_keys_dir, verify_seal_key;
  auto* verify = app.add_subcommand(
      "verify",
      "re-verify the HMAC chain of an NDJSON export offline (docs/formats/hmac_chain.md), or the "
      "store's seal (docs/formats/seal.md)");
  verify->add_option("--export", verify_export, "NDJSON export file, - for stdin");
  verify->add_option("--key", verify_key, "with --export: the host's HMAC key file (mode 0600)");
  verify->add_option("--keys-dir", verify_keys_dir,
                     "with --export, instead of --key: a key folder like the collector's keys_dir "
                     "(H.key and the retired keys of H.retired/), to verify across key rotations");
  verify->add_option("--seal-key", verify_seal_key,
                     "the store seal's verification key file (trailkeepd seal-setup): checks the "
                     "seal of every event of --export FILE (exported with seal_proof=true) or of "
                     "the collector at --server");
  verify->add_option("--host", verify_host,
                     "the host to verify (with --server: required; with --export: needed when "
                     "several are chained; with --seal-key: a glob, default every host)");
  add_client_flags(verify, "--client-key");

  trailkeep::IntegrityArgs integrity_args;
  auto* integrity = app.add_subcommand(
      "integrity", "integrity events a collector recorded (gaps, bad MACs, restarts, ...)");
  add_client_flags(integrity);
  integrity->add_option("--since", integrity_args.since,
                        "RFC 3339 time or a duration (default 24h)");
  integrity->add_option("--until", integrity_args.until, "RFC 3339 time or a duration");
  integrity->add_option("--host", integrity_args.host, "host glob, e.g. 'api-*'");
  integrity->add_option("--kind", integrity_args.kind, "gap, bad_mac, conflict, replay, ...");
  integrity->add_option("--format", integrity_args.format, "text or json")
      ->check(CLI::IsMember({"json", "text"}));

  trailkeep::ReportArgs report_args;
  auto* report = app.add_subcommand(
      "report", "a fleet report built by the collector, as `trailkeepd report` prints it");
  add_client_flags(report);
  report
      ->add_option("name", report_args.name,
                   "auth, logins, time-changes, updates, tls-failures or ndcpp")
      ->required();
  report->add_option("--since", report_args.since, "RFC 3339 time or a duration like 7d");
  report->add_option("--until", report_args.until, "RFC 3339 time or a duration");
  report->add_option("--host", report_args.host, "host glob, e.g. 'api-*'");
  report->add_flag("--failed", report_args.failed, "auth: failures only");
  report->add_option("--format", report_args.format, "text or json")
      ->check(CLI::IsMember({"json", "text"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; every usage error exits 2 (CLI11's own codes
    // are 105-109), as the docs promise.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*verify && !verify_seal_key.empty() && (!verify_key.empty() || !verify_keys_dir.empty())) {
    std::cerr << "trailkeep verify: --seal-key checks the seal, --key/--keys-dir the agent's "
                 "chain: give one\n";
    return 2;
  }
  if (*verify && !verify_export.empty() && !verify_seal_key.empty()) {
    return trailkeep::agent::RunVerifySealExport(verify_export, verify_seal_key, verify_host);
  }
  if (*verify && !verify_export.empty()) {
    if (verify_key.empty() == verify_keys_dir.empty()) {
      std::cerr << "trailkeep verify: --export needs --key KEYFILE or --keys-dir DIR (one)\n";
      return 2;
    }
    return trailkeep::agent::RunVerifyExport(verify_export, verify_key, verify_host,
                                             verify_keys_dir);
  }
  if (*forward) return RunForward(forward_config);
  if (*audisp) return RunAudisp(audisp_socket);
  if (*parse) return RunParse(file, format, max_frame, trailkeep::SystemClock());
  if (*classify) return trailkeep::agent::RunClassify(classify_options);
  if (*tail || *query || *hosts || *verify || *integrity || *report || *backup) {
    auto loaded = trailkeep::LoadClientConfig(client_config, &client);
    if (!loaded.ok()) {
      std::cerr << "trailkeep: " << loaded.message() << "\n";
      return 2;
    }
    if (client.server.empty()) {
      std::cerr << "trailkeep: --server https://HOST:PORT is required (or server = in the client "
                   "config)"
                << (*verify ? "; or --export FILE --key KEYFILE to check an export offline" : "")
                << "\n";
      return 2;
    }
    if (*verify && !verify_seal_key.empty()) {
      return trailkeep::RunRemoteVerifySeal(client, verify_seal_key, verify_host);
    }
    if (*verify) {
      if (verify_host.empty()) {
        std::cerr << "trailkeep verify: --server needs --host H\n";
        return 2;
      }
      return trailkeep::RunRemoteVerify(client, verify_host);
    }
    if (*integrity) return trailkeep::RunRemoteIntegrity(client, integrity_args);
    if (*report) return trailkeep::RunRemoteReport(client, report_args);
    if (*tail) {
      if (cursor_opt->count() > 0) tail_args.cursor = tail_cursor;
      return trailkeep::RunRemoteTail(client, tail_args);
    }
    if (*query) return trailkeep::RunRemoteQuery(client, query_args);
    if (*backup) return trailkeep::RunRemoteBackup(client);
    return trailkeep::RunRemoteHosts(client, hosts_format);
  }
  return 0;
}
