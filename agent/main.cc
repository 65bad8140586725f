// trailkeep: the agent and network client. It never links RocksDB.
//
//   trailkeep parse [--format json|text] [FILE]
//       Parses syslog lines (one per line, or RFC 6587 octet-counted frames)
//       from FILE or stdin exactly as the collector does and prints each as
//       the event JSON of docs/event-schema.md: a way to test what the
//       collector will make of a sender's lines, with no collector at all.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/base/time_format.h"
#include "common/event/event_format.h"
#include "common/syslog/syslog_parser.h"
#include "common/wire/octet_framer.h"
#include "trailkeep/v1/record.pb.h"

namespace {

constexpr char kVersion[] = "0.1.0";

int RunParse(const std::string& file, const std::string& format, size_t max_frame) {
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
    const int64_t now = trailkeep::NowMicros();
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

  CLI11_PARSE(app, argc, argv);
  if (*parse) return RunParse(file, format, max_frame);
  return 0;
}
