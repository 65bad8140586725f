// AgentResponder: what the collector answers on trailkeep/1 connections
// (docs/formats/agent_wire.md) and the alarms of the chain verifier.
//  - RequestResume: a newly bound connection gets its Resume (the host's
//    committed chain head) once every batch offered before it is committed,
//    and an AGENT_CONNECTED collector event records the resume point.
//  - OnCommitted (a Committer extras listener): an Ack to the live connection
//    of each host whose chain advanced in the commit, then one
//    INTEGRITY_ALARM collector event per integrity event the stages made.
//  - SetPaused: while the collector takes no data (disk full, "block"),
//    every live connection that had its Resume gets a Pause, and so does
//    each new one right after its Resume; a Proceed when data is taken again.
//    Pauses go out on the committer thread, like the Resume, so a Pause never
//    precedes a connection's Resume.
//
// Concurrency: RequestResume and SetPaused from any thread; OnCommitted on
// the committer thread, which also runs the queued Resume and pauses (the
// verifier is that thread's).
#pragma once

#include <memory>
#include <string>
#include <vector>

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
  void SetPaused(bool paused, std::string reason);

 private:
  // Committer thread only: the pause in force and the connections resumed.
  bool paused_ = false;
  std::string pause_reason_;
  std::vector<std::weak_ptr<AgentLink>> resumed_;
  Committer* const committer_;
  ChainVerifier* const verifier_;
  AgentRegistry* const agents_;
  SelfAudit* const audit_;
};

// An integrity event of the chain verifier as one of the collector's own
// events (searchable, classified, exported) and a log line.
void RecordIntegrityAlarm(const v1::IntegrityEvent& ie, SelfAudit* audit);

}  // namespace trailkeep
