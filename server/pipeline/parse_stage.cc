#include "server/pipeline/parse_stage.h"

#include <utility>

#include "common/audit/audit_event.h"
#include "common/syslog/syslog_parser.h"
#include "server/pipeline/audit_remote_records.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

void ParseStage::Parse(FrameFormat format, RawFrame* frame, v1::Event* e) const {
  if (format == FrameFormat::kAuditRecord) {
    MakeAuditRemoteEvent(std::move(frame->bytes), frame->receive_time_us, *frame->peer, e);
    // The channel vouches that these are auditd records.
    if (e->parse_error().empty()) e->set_audit_member(true);
    return;
  }
  ParseSyslog(frame->bytes, frame->receive_time_us, e);
  e->set_receive_time_us(frame->receive_time_us);
  e->set_transport(v1::TRANSPORT_TLS_SYSLOG);
  e->set_integrity(v1::INTEGRITY_UNSIGNED);
  *e->mutable_peer() = *frame->peer;
  e->set_raw(std::move(frame->bytes));
  // An agent's audit records are classified once grouped.
  if (audit::IsChannelAuditRecord(*e)) e->set_audit_member(true);
}

}  // namespace trailkeep
