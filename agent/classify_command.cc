#include "agent/classify_command.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include "common/audit/audit_event.h"
#include "common/audit/audit_grouper.h"
#include "common/audit/audit_record.h"
#include "common/audit/identity_map.h"
#include "common/base/clock.h"
#include "common/event/event_format.h"
#include "common/ndcpp/default_rules_path.h"
#include "common/ndcpp/rules.h"
#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::agent {
namespace {

// Programs that relay audit records as syslog MSG (auditd's dispatcher
// plugins, the agent's APP-NAME "auditd").
bool IsAuditApp(std::string_view app) {
  return app == "auditd" || app == "audispd" || app == "audisp-syslog" || app == "audit";
}

// Prints events as they are completed, classifying each.
class Printer {
 public:
  Printer(const ndcpp::RuleSet* rules, std::string format, const audit::IdentityMap* ids,
          const Clock& clock)
      : rules_(rules), format_(std::move(format)), ids_(ids), clock_(clock) {}

  void Line(std::string_view line) {
    const int64_t now = clock_.NowMicros();
    v1::Event e;
    ParseSyslog(line, now, &e);
    audit::AuditRecord r;
    // An audit record, bare (audit.log) or as an agent sends it (MSG).
    if (audit::ParseAuditRecord(line, &r) ||
        (IsAuditApp(ndcpp::RuleAppName(e.app_name())) && audit::ParseAuditRecord(e.msg(), &r))) {
      AuditLine(e.hostname(), r, now);
      return;
    }
    FlushAudit();
    e.set_receive_time_us(now);
    e.set_host(e.hostname());
    e.set_integrity(v1::INTEGRITY_UNSIGNED);
    e.set_raw(std::string(line));
    Print(&e);
  }

  void FlushAudit() {
    std::vector<audit::AuditGroup> closed;
    grouper_.Flush(&closed);
    PrintGroups(closed);
    open_key_.reset();
  }

 private:
  // Consecutive records of one (node, serial) form one event; another
  // serial closes the open one.
  void AuditLine(const std::string& host, const audit::AuditRecord& r, int64_t now) {
    std::string key = std::string(r.node) + '\0' + std::to_string(r.serial);
    if (open_key_ && *open_key_ != key) FlushAudit();
    open_key_ = std::move(key);
    std::vector<audit::AuditGroup> closed;
    grouper_.Add(host, r, audit::GroupMember{std::string(r.text), 0}, now, &closed);
    if (!closed.empty()) open_key_.reset();
    PrintGroups(closed);
  }

  void PrintGroups(const std::vector<audit::AuditGroup>& groups) {
    for (const auto& g : groups) {
      v1::Event e;
      audit::BuildAuditEvent(g, ids_, "", &e);
      e.set_receive_time_us(clock_.NowMicros());
      e.set_integrity(v1::INTEGRITY_UNSIGNED);
      e.set_format(v1::FORMAT_UNPARSED);
      Print(&e);
    }
  }

  void Print(v1::Event* e) {
    rules_->Classify(e);
    std::cout << (format_ == "json" ? EventToJson(*e) : EventToText(*e)) << "\n";
  }

  const ndcpp::RuleSet* rules_;
  std::string format_;
  const audit::IdentityMap* ids_;
  const Clock& clock_;
  audit::AuditGrouper grouper_;
  std::optional<std::string> open_key_;
};

}  // namespace

int RunClassify(const ClassifyOptions& o) {
  const std::string rules_path = o.rules_path.empty() ? ndcpp::DefaultRulesPath() : o.rules_path;
  auto rules = ndcpp::RuleSet::LoadFile(rules_path);
  if (!rules.ok()) {
    std::cerr << "trailkeep classify: invalid rules:\n" << rules.status().message() << "\n";
    return 2;
  }
  std::optional<audit::IdentityMap> ids;
  if (!o.identity_file.empty()) {
    std::ifstream in(o.identity_file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = audit::IdentityMap::FromInventoryJson(text);
    if (!in.good() && !in.eof()) parsed = Status::IoError("cannot read");
    if (!parsed.ok()) {
      std::cerr << "trailkeep classify: " << o.identity_file << ": " << parsed.status().message()
                << "\n";
      return 2;
    }
    ids = std::move(parsed).value();
  }
  std::istream* in = &std::cin;
  std::ifstream f;
  if (!o.file.empty() && o.file != "-") {
    f.open(o.file, std::ios::binary);
    if (!f) {
      std::cerr << "trailkeep classify: cannot open " << o.file << "\n";
      return 1;
    }
    in = &f;
  }
  Printer printer(rules.value().get(), o.format, ids ? &*ids : nullptr, *o.clock);
  std::string line;
  while (std::getline(*in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) printer.Line(line);
  }
  printer.FlushAudit();
  return 0;
}

}  // namespace trailkeep::agent
