// AgentResponder: what the collector answers on trailkeep/1 connections
// (docs/formats/agent_wire.md) and the alarms of the chain verifier.
//  - RequestResume: a newly bound connection gets its Resume (the host's
//    committed chain head) once every batch offered before it is committed,
//    and an AGENT_CONNECTED collector event records the resume point.
//  - OnCommitted (a Committer extras listener): an Ack to the live connection
//    of each host whose chain advanced in the commit, then one
//    INTEGRITY_ALARM collector event per integrity event the stages made.
//
// Concurrency: RequestResume from any thread; OnCommitted on the committer
// thread, which also runs the queued Resume (the verifier is that thread's).
#pragma once

#include <memory>
#include <string>

namespace trailkeep::v1 {
class IntegrityEvent;
}

namespace trailkeep {

class AgentLink;
class AgentRegistry;
class ChainVerifier;
class Committer;
class SelfAudit;
struct CommitExtras;

class AgentResponder {
 public:
  // All must outlive this.
  AgentResponder(Committer* committer, ChainVerifier* verifier, AgentRegistry* agents,
                 SelfAudit* audit)
      : committer_(committer), verifier_(verifier), agents_(agents), audit_(audit) {}

  void RequestResume(const std::string& host, std::weak_ptr<AgentLink> link);
  void OnCommitted(const CommitExtras& extras);

 private:
  Committer* const committer_;
  ChainVerifier* const verifier_;
  AgentRegistry* const agents_;
  SelfAudit* const audit_;
};

// An integrity event of the chain verifier as one of the collector's own
// events (searchable, classified, exported) and a log line.
void RecordIntegrityAlarm(const v1::IntegrityEvent& ie, SelfAudit* audit);

}  // namespace trailkeep
