#include "server/pipeline/collector_events.h"

#include <spdlog/spdlog.h>

#include "server/pipeline/classify_stage.h"
#include "server/store/committer.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

void CollectorEvents::OfferSelfEvents(std::vector<v1::Event>* events) {
  for (const auto& e : *events) {
    const int severity = e.pri() % 8;
    const auto level = severity <= 3   ? spdlog::level::err
                       : severity == 4 ? spdlog::level::warn
                                       : spdlog::level::info;
    spdlog::log(level, "{}: {}", e.msgid(), e.msg());
  }
  Queue(events);
}

void CollectorEvents::OfferGrouped(std::vector<v1::Event>* events) { Queue(events); }

void CollectorEvents::Queue(std::vector<v1::Event>* events) {
  if (events->empty()) return;
  if (classify_ != nullptr) classify_->Classify(events);
  committer_->OfferUnbounded(events);
}

}  // namespace trailkeep
