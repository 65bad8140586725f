#include "server/pipeline/agent_responder.h"

#include "server/net/ingest.h"
#include "server/pipeline/agent_registry.h"
#include "server/pipeline/chain_verifier.h"
#include "server/selfaudit/self_audit.h"
#include "server/store/committer.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

void AgentResponder::RequestResume(const std::string& host, std::weak_ptr<AgentLink> weak) {
  committer_->RunInOrder([this, host, weak] {
    auto link = weak.lock();
    if (!link) return;
    const ChainHeadInfo head = verifier_->Head(host);
    link->SendResume(head.epoch, head.contiguous_seq, head.head_mac);
    if (paused_) link->SendPause(true, pause_reason_);
    std::erase_if(resumed_, [](const std::weak_ptr<AgentLink>& l) { return l.expired(); });
    resumed_.push_back(weak);
    audit_->Record(SelfEventKind::kAgentConnected, "",
                   "agent " + host + " connected; it resumes after seq " +
                       std::to_string(head.contiguous_seq) + " of epoch " +
                       std::to_string(head.epoch),
                   {{"host", host},
                    {"epoch", std::to_string(head.epoch)},
                    {"contiguous_seq", std::to_string(head.contiguous_seq)}});
  });
}

void AgentResponder::SetPaused(bool paused, std::string reason) {
  committer_->RunInOrder([this, paused, reason = std::move(reason)] {
    if (paused == paused_) return;
    paused_ = paused;
    pause_reason_ = reason;
    for (const auto& weak : resumed_) {
      if (auto link = weak.lock()) link->SendPause(paused, reason);
    }
  });
}

void AgentResponder::OnCommitted(const CommitExtras& extras) {
  // Acknowledge what is now durable, then raise the alarms.
  for (const auto& [host, head] : verifier_->advanced()) {
    if (auto link = agents_->Find(host)) link->SendAck(head.epoch, head.contiguous_seq);
  }
  for (const auto& ie : extras.integrity) RecordIntegrityAlarm(ie, audit_);
}

void RecordIntegrityAlarm(const v1::IntegrityEvent& ie, SelfAudit* audit) {
  const std::string range =
      ie.first_seq() == ie.last_seq()
          ? "seq " + std::to_string(ie.first_seq())
          : "seqs " + std::to_string(ie.first_seq()) + "-" + std::to_string(ie.last_seq());
  audit->Record(SelfEventKind::kIntegrityAlarm, "",
                ie.kind() + ": host " + ie.host() + " epoch " + std::to_string(ie.epoch()) + " " +
                    range + ": " + ie.detail(),
                {{"kind", ie.kind()},
                 {"host", ie.host()},
                 {"epoch", std::to_string(ie.epoch())},
                 {"first_seq", std::to_string(ie.first_seq())},
                 {"last_seq", std::to_string(ie.last_seq())}});
}

}  // namespace trailkeep
