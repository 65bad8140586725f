#include "server/pipeline/connection_audit.h"

#include <utility>
#include <vector>

#include "server/selfaudit/self_audit.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

SelfEventKind KindOf(ConnectionEventKind k) {
  switch (k) {
    case ConnectionEventKind::kTlsHandshakeFailed:
      return SelfEventKind::kTlsHandshakeFailed;
    case ConnectionEventKind::kPeerNotPermitted:
      return SelfEventKind::kPeerNotPermitted;
    case ConnectionEventKind::kFramingError:
      return SelfEventKind::kFramingError;
    case ConnectionEventKind::kTruncatedFrame:
      return SelfEventKind::kTruncatedFrame;
    case ConnectionEventKind::kConnectionLimit:
      return SelfEventKind::kConnectionLimit;
    case ConnectionEventKind::kAgentRefused:
      return SelfEventKind::kAgentRefused;
    case ConnectionEventKind::kHostnameRefused:
      return SelfEventKind::kHostnameRefused;
  }
  return SelfEventKind::kFramingError;
}

}  // namespace

void ConnectionAudit::ReportConnectionEvent(ConnectionEventKind kind, const v1::Peer& peer,
                                            const std::string& reason,
                                            const ConnectionFields& extra) {
  std::vector<std::pair<std::string, std::string>> fields = {{"reason", reason}};
  fields.insert(fields.end(), extra.begin(), extra.end());
  if (!peer.cert_subject().empty()) fields.emplace_back("cert_subject", peer.cert_subject());
  if (!peer.cert_sha256().empty()) fields.emplace_back("cert_sha256", peer.cert_sha256());
  if (!peer.listener().empty()) fields.emplace_back("listener", peer.listener());
  if (!peer.tunnel().empty()) fields.emplace_back("tunnel", peer.tunnel());
  self_audit_->Record(KindOf(kind), peer.address(), reason, fields);
}

}  // namespace trailkeep
