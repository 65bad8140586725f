#include "server/app/space_watch.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include "common/base/disk_space.h"
#include "server/selfaudit/self_audit.h"

namespace trailkeep {
namespace {

// What each action does to ingest, for DISK_FULL's message.
std::string ActionEffect(DiskFullAction action) {
  switch (action) {
    case DiskFullAction::kBlock:
      return "ingest stops: TLS and TCP senders are pushed back, agents told to keep spooling, "
             "port-60 records answered DISKFULL, UDP datagrams dropped and counted";
    case DiskFullAction::kHalt:
      return "the collector records this, commits what it holds and exits (status " +
             std::to_string(kExitDiskFull) + ")";
    case DiskFullAction::kRotate:
      return "ingest stops while the oldest events are removed early (RETENTION_CUT, reason "
             "disk_full_rotate)";
  }
  return "";
}

}  // namespace

struct SpaceWatch::Timer {
  // On its own strand: Stop() posts the cancel there, so any thread may call it.
  explicit Timer(boost::asio::io_context& io) : timer(boost::asio::make_strand(io)) {}
  boost::asio::steady_timer timer;
  // Set on the strand by Stop(): a cancel misses a wait that has already
  // completed and whose handler is queued, which would arm the timer again.
  bool stopped = false;
};

SpaceWatch::SpaceWatch(boost::asio::io_context& io, std::string dir, DiskLevels levels,
                       DiskFullAction action, SelfAudit* audit, std::chrono::milliseconds interval)
    : timer_(std::make_unique<Timer>(io)),
      dir_(std::move(dir)),
      levels_(levels),
      action_(action),
      audit_(audit),
      interval_(interval) {}

SpaceWatch::~SpaceWatch() = default;

void SpaceWatch::Start() {
  if (levels_.warn_bytes == 0 && levels_.admin_bytes == 0) return;
  Check();
  Arm();
}

void SpaceWatch::Stop() {
  boost::asio::post(timer_->timer.get_executor(), [t = timer_.get()] {
    t->stopped = true;
    t->timer.cancel();
  });
}

void SpaceWatch::CheckSoon() {
  boost::asio::post(timer_->timer.get_executor(), [this] {
    if (!timer_->stopped) Check();
  });
}

void SpaceWatch::Arm() {
  timer_->timer.expires_after(interval_);
  timer_->timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || timer_->stopped) return;
    Check();
    Arm();
  });
}

void SpaceWatch::Check() {
  const std::optional<uint64_t> free = FreeDiskBytes(dir_);
  if (!free) return;  // the next commit reports a real problem
  const uint64_t free_bytes = *free;
  free_.store(free_bytes, std::memory_order_relaxed);
  const bool was_low = low_->load();
  const bool low = SpaceIsLow(was_low, free_bytes, levels_.warn_bytes);
  if (low != was_low) {
    low_->store(low);
    RecordLow(low, free_bytes);
  }
  const bool was_full = full_->load();
  const bool full = SpaceIsLow(was_full, free_bytes, levels_.admin_bytes);
  if (full != was_full) {
    full_->store(full);
    RecordFull(full, free_bytes);
  } else if (full && hooks_.still_full) {
    hooks_.still_full(free_bytes);
  }
}

void SpaceWatch::RecordLow(bool low, uint64_t free_bytes) {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"free_bytes", std::to_string(free_bytes)},
      {"warning_bytes", std::to_string(levels_.warn_bytes)}};
  const std::string level = DescribeBytes(levels_.warn_bytes);
  if (low) {
    spdlog::warn("the store's disk ({}) has {} free, below the warning level of {}", dir_,
                 DescribeBytes(free_bytes), level);
    audit_->Record(SelfEventKind::kStorageLow, "",
                   "the store's disk has " + DescribeBytes(free_bytes) +
                       " free, below the warning level of " + level +
                       "; port-60 clients are answered DISKLOW",
                   fields);
  } else {
    spdlog::info("the store's disk ({}) has {} free again", dir_, DescribeBytes(free_bytes));
    audit_->Record(SelfEventKind::kStorageRecovered, "",
                   "the store's disk has " + DescribeBytes(free_bytes) +
                       " free again, above the warning level of " + level,
                   fields);
  }
}

void SpaceWatch::RecordFull(bool full, uint64_t free_bytes) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"free_bytes", std::to_string(free_bytes)},
      {"admin_space_left_bytes", std::to_string(levels_.admin_bytes)},
      {"reserve_bytes", std::to_string(levels_.reserve_bytes)},
      {"action", DiskFullActionName(action_)}};
  const std::string level = DescribeBytes(levels_.admin_bytes);
  if (full) {
    full_since_ = std::chrono::steady_clock::now();
    spdlog::error("the store's disk ({}) has {} free, below admin_space_left ({}): {}", dir_,
                  DescribeBytes(free_bytes), level, ActionEffect(action_));
    audit_->Record(SelfEventKind::kDiskFull, "",
                   "the store's disk has " + DescribeBytes(free_bytes) +
                       " free, below admin_space_left of " + level + "; disk_full_action " +
                       DiskFullActionName(action_) + ": " + ActionEffect(action_),
                   fields);
    if (hooks_.on_full) hooks_.on_full(free_bytes);
    return;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now() - full_since_)
                           .count();
  fields.emplace_back("full_seconds", std::to_string(seconds));
  if (hooks_.recovered_fields) {
    for (auto& f : hooks_.recovered_fields()) fields.push_back(std::move(f));
  }
  spdlog::info("the store's disk ({}) has {} free again: ingest resumes", dir_,
               DescribeBytes(free_bytes));
  audit_->Record(SelfEventKind::kDiskSpaceRecovered, "",
                 "the store's disk has " + DescribeBytes(free_bytes) +
                     " free again, above admin_space_left of " + level + " after " +
                     std::to_string(seconds) + " s: ingest resumes",
                 fields);
  if (hooks_.on_recovered) hooks_.on_recovered(free_bytes);
}

}  // namespace trailkeep
