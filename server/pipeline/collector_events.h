// CollectorEvents: how events the collector makes itself reach the store:
// the self-audit's events (RateLimitedSelfAudit's Emit; each is also a log
// line at its severity) and the audit groups closed by time or at shutdown.
// Both are classified (the one ClassifyStage) and queued with Committer::OfferUnbounded, so a flood
// of peer data never crowds them out (they are bounded at their source).
//
// Concurrency: thread-safe (the committer and the classify stage are).
#pragma once

#include <vector>

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

class Committer;
class ClassifyStage;

class CollectorEvents {
 public:
  // `classify` may be null (no classification); both must outlive this.
  CollectorEvents(Committer* committer, const ClassifyStage* classify)
      : committer_(committer), classify_(classify) {}

  // The self-audit's events: logged, classified, queued.
  void OfferSelfEvents(std::vector<v1::Event>* events);
  // Grouped audit events from AuditGrouping::Expire / Flush: classified, queued.
  void OfferGrouped(std::vector<v1::Event>* events);

 private:
  void Queue(std::vector<v1::Event>* events);  // classified, then OfferUnbounded

  Committer* const committer_;
  const ClassifyStage* const classify_;
};

}  // namespace trailkeep
