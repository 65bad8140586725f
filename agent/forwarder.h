// Forwarder: `trailkeep forward --config FILE`, the agent's composition root.
//
// One io_context on one thread ties everything together:
//   every poll_interval_ms: inventory check + each [[input]]'s FileTailer or
//   JournalReader (with a JOURNAL_LOSS event first when entries were lost
//   while the agent was down) + the audisp socket's queued lines  ->  RFC 5424
//   message (message_builder.h, journal_fields.h)
//   ->  chained and signed (seq, prev MAC)  ->  Spool::Append (one batch:
//   segment written and fsynced, checkpoint rewritten)  ->  only then: ACK the
//   audisp shim and wake the CollectorLink, which sends from the spool.
// When the spool is full (spool_max_bytes), inputs stop advancing (files are
// not read, the audisp socket is not read) with one warning per episode;
// nothing is dropped. A batch is appended in chunks of at most 256 KiB, each
// durable (fsynced, checkpointed) before the next; if an append fails (disk
// full, I/O error) the unspooled rest of the batch stays in memory and is
// retried at every poll, and the inputs do not advance meanwhile, so a full
// disk pauses the agent until acknowledged segments are deleted.
// SIGTERM/SIGINT: one last poll is spooled, the link and the socket are
// closed, Run() returns 0.
// SIGHUP: the HMAC key file is read again. A new key (another KeyId) signs
// from the next event on: a KEY_ROTATED event is queued so the switch happens
// at once, and that first event names the key ([tkkey@PEN id=...],
// docs/formats/hmac_chain.md, 'Key rotation'). Records already spooled keep
// their old MACs; heartbeats switch once the new key's first event is
// spooled. A key file that does not load is logged and the old key kept. A
// start with a key other than the spool head's, and the first event of a new
// spool, announce the key the same way.
//
// Logs (spdlog, stderr): start (host, epoch, next seq, inputs), connects,
// resume points, pauses.
#pragma once

#include <memory>

#include "agent/agent_config.h"
#include "common/base/clock.h"
#include "common/base/status.h"

namespace trailkeep::agent {

class Forwarder {
 public:
  // Loads the HMAC key (mode 0600 required), opens the spool and the TLS
  // material; any failure is a start-up error. Every time the agent reads
  // (receive times, heartbeats, a new spool's epoch) is `clock`'s.
  static Result<std::unique_ptr<Forwarder>> Create(AgentConfig config,
                                                   ClockPtr clock = MakeSystemClock());
  ~Forwarder();

  // Runs until SIGTERM/SIGINT; returns the process exit code.
  int Run();

  struct Impl;

 private:
  explicit Forwarder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trailkeep::agent
