#include "server/pipeline/audit_remote_records.h"

#include <charconv>
#include <cstdint>
#include <string_view>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

bool AuditRecordTimeUs(const std::string& text, int64_t* time_us) {
  constexpr std::string_view kMarker = "msg=audit(";
  const size_t at = text.find(kMarker);
  if (at == std::string::npos) return false;
  const char* p = text.data() + at + kMarker.size();
  const char* end = text.data() + text.size();
  int64_t seconds = 0;
  auto r = std::from_chars(p, end, seconds);
  // A peer writes any number there: past what int64 microseconds hold is no time.
  constexpr int64_t kMaxSeconds = (INT64_MAX - 999'000) / 1'000'000;
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.' || seconds < 0 ||
      seconds > kMaxSeconds) {
    return false;
  }
  const char* frac = r.ptr + 1;
  int64_t millis = 0;
  r = std::from_chars(frac, end, millis);
  if (r.ec != std::errc() || r.ptr - frac != 3 || r.ptr == end || *r.ptr != ':') return false;
  *time_us = seconds * 1'000'000 + millis * 1'000;
  return true;
}

void MakeAuditRemoteEvent(std::string payload, int64_t receive_time_us, const v1::Peer& peer,
                          v1::Event* e) {
  e->set_receive_time_us(receive_time_us);
  e->set_transport(v1::TRANSPORT_AUDIT_PORT60);
  e->set_integrity(v1::INTEGRITY_UNSIGNED);
  e->set_pri(-1);
  e->set_app_name("auditd");
  e->set_format(v1::FORMAT_UNPARSED);  // not syslog: the record text is the message
  *e->mutable_peer() = peer;
  std::string msg = payload;
  if (!msg.empty() && msg.back() == '\n') msg.pop_back();
  int64_t time_us = 0;
  if (AuditRecordTimeUs(msg, &time_us)) {
    e->set_event_time_us(time_us);
  } else {
    e->set_event_time_us(receive_time_us);
    e->set_event_time_inferred(true);
    e->set_parse_error("not an auditd record (no msg=audit(...)): stored as received");
  }
  e->set_msg(std::move(msg));
  e->set_raw(std::move(payload));
}

}  // namespace trailkeep
