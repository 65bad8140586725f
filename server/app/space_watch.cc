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

constexpr uint64_t kMiB = 1u << 20;

std::string Mib(uint64_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

}  // namespace

bool SpaceIsLow(bool was_low, uint64_t free_bytes, uint64_t warn_bytes) {
  if (warn_bytes == 0) return false;
  if (!was_low) return free_bytes < warn_bytes;
  return free_bytes <= warn_bytes + warn_bytes / 10;  // hysteresis: 10 % above the level
}

struct SpaceWatch::Timer {
  // On its own strand: Stop() posts the cancel there, so any thread may call it.
  explicit Timer(boost::asio::io_context& io) : timer(boost::asio::make_strand(io)) {}
  boost::asio::steady_timer timer;
  // Set on the strand by Stop(): a cancel misses a wait that has already
  // completed and whose handler is queued, which would arm the timer again.
  bool stopped = false;
};

SpaceWatch::SpaceWatch(boost::asio::io_context& io, std::string dir, uint64_t warn_bytes,
                       SelfAudit* audit, std::chrono::milliseconds interval)
    : timer_(std::make_unique<Timer>(io)),
      dir_(std::move(dir)),
      warn_bytes_(warn_bytes),
      audit_(audit),
      interval_(interval) {}

SpaceWatch::~SpaceWatch() = default;

void SpaceWatch::Start() {
  if (warn_bytes_ == 0) return;
  Check();
  Arm();
}

void SpaceWatch::Stop() {
  boost::asio::post(timer_->timer.get_executor(), [t = timer_.get()] {
    t->stopped = true;
    t->timer.cancel();
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
  const bool low = SpaceIsLow(was_low, free_bytes, warn_bytes_);
  if (low == was_low) return;
  low_->store(low);
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"free_bytes", std::to_string(free_bytes)}, {"warning_bytes", std::to_string(warn_bytes_)}};
  if (low) {
    spdlog::warn("the store's disk ({}) has {} free, below the warning level of {}", dir_,
                 Mib(free_bytes), Mib(warn_bytes_));
    audit_->Record(SelfEventKind::kStorageLow, "",
                   "the store's disk has " + Mib(free_bytes) +
                       " free, below the warning level of " + Mib(warn_bytes_) +
                       "; port-60 clients are answered DISKLOW",
                   fields);
  } else {
    spdlog::info("the store's disk ({}) has {} free again", dir_, Mib(free_bytes));
    audit_->Record(SelfEventKind::kStorageRecovered, "",
                   "the store's disk has " + Mib(free_bytes) +
                       " free again, above the warning level of " + Mib(warn_bytes_),
                   fields);
  }
}

}  // namespace trailkeep
