// AudispListener: the forwarder's end of the audisp shim's unix socket
// ([audisp] socket). `trailkeep audisp` (audisp_shim.h) connects and sends
// audit records, one per LF-terminated line; once the forwarder has spooled
// lines durably it calls Acknowledge(), which answers "ACK <n>\n" on the
// connection they came from (n = lines since the previous ACK), written
// before it returns whenever the socket takes it, so a Stop() right after
// still has them acknowledged. Lines of a connection that closes before
// their ACK are resent by the shim.
//
// Back-pressure: while paused (spool full), or while more than
// kMaxQueuedBytes of lines wait to be taken, no socket is read, so the shim
// and then auditd's dispatcher queue block instead of anything being dropped.
//
// The socket file is created with mode 0600 (its directory with 0750 if
// missing); a stale socket file is replaced. Threading: the io_context of
// Create() runs on one thread; every method must be called from it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace boost::asio {
class io_context;
}

namespace trailkeep::agent {

struct AudispLine {
  uint64_t connection = 0;
  std::string text;  // without LF
};

class AudispListener {
 public:
  static constexpr size_t kMaxQueuedBytes = 4 << 20;

  // `on_data` is called (on the io thread) when new lines are queued.
  static Result<std::unique_ptr<AudispListener>> Create(boost::asio::io_context& io,
                                                        const std::string& socket_path,
                                                        std::function<void()> on_data);
  ~AudispListener();

  void Start();
  // Moves queued lines, oldest first, up to about max_bytes, to *out.
  void TakeLines(size_t max_bytes, std::vector<AudispLine>* out);
  // The lines (taken earlier) are durably spooled: acknowledge them.
  void Acknowledge(const std::vector<AudispLine>& lines);
  void SetPaused(bool paused);
  size_t connections() const;
  // Closes the listening socket and every connection; removes the socket file.
  void Stop();

  struct Impl;

 private:
  explicit AudispListener(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace trailkeep::agent
