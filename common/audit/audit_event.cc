#include "common/audit/audit_event.h"

#include <charconv>
#include <cstdint>

#include "common/audit/interpret.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::audit {
namespace {

// Microseconds of "SECONDS.MILLIS"; 0 when malformed: also when negative,
// with more than three digits of milliseconds, or past what int64 microseconds
// hold (a peer writes any number there).
int64_t AuditTimeMicros(std::string_view t) {
  constexpr int64_t kMaxSeconds = (INT64_MAX - 999'000) / 1'000'000;
  const size_t dot = t.find('.');
  int64_t sec = 0, ms = 0;
  const std::string_view s = t.substr(0, dot), m = dot == t.npos ? "0" : t.substr(dot + 1);
  if (std::from_chars(s.data(), s.data() + s.size(), sec).ec != std::errc() ||
      std::from_chars(m.data(), m.data() + m.size(), ms).ec != std::errc()) {
    return 0;
  }
  if (sec < 0 || sec > kMaxSeconds || ms < 0 || ms > 999) return 0;
  return sec * 1'000'000 + ms * 1'000;
}

}  // namespace

void BuildAuditEvent(const AuditGroup& group, const IdentityMap* ids, std::string_view node_name,
                     v1::Event* event) {
  event->Clear();
  v1::AuditEvent* a = event->mutable_audit();
  a->set_node(group.node.empty() ? std::string(node_name) : group.node);
  a->set_serial(group.serial);
  a->set_complete(group.complete);
  a->set_identity_map(ids != nullptr);
  std::string joined, main_type;
  for (const GroupMember& m : group.records) {
    AuditRecord r;
    v1::AuditRecord* out = a->add_records();
    out->set_text(m.text);
    out->set_chain_seq(m.chain_seq);
    if (!joined.empty()) joined.push_back('\n');
    joined.append(m.text);
    if (!ParseAuditRecord(m.text, &r)) continue;
    out->set_type(std::string(r.type));
    if (a->time().empty()) a->set_time(std::string(r.time));
    if (main_type.empty() || r.type == "SYSCALL") main_type = std::string(r.type);
    InterpretRecord(r, ids, out);
  }
  event->set_host(group.host);
  event->set_app_name("auditd");
  event->set_msgid(main_type);
  event->set_msg(joined);
  event->set_raw(std::move(joined));
  event->set_event_time_us(AuditTimeMicros(a->time()));
  event->set_pri(-1);
}

bool IsChannelAuditRecord(const v1::Event& e) {
  const bool vouched =
      e.transport() == v1::TRANSPORT_AUDIT_PORT60 || !e.peer().bound_host().empty();
  if (!vouched || e.app_name() != "auditd") return false;
  AuditRecord r;
  return ParseAuditRecord(e.msg(), &r);
}

}  // namespace trailkeep::audit
