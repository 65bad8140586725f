// Plaintext syslog listeners, opt-in, for gear that cannot speak TLS:
// [[listen.udp]] takes RFC 5426 datagrams (one message each), [[listen.tcp]]
// RFC 6587 streams (octet-counted or LF-terminated, decided per frame:
// common/wire/octet_framer.h). Nothing authenticates the sender: frames carry
// a Peer with transport UDP_SYSLOG / TCP_SYSLOG, authenticated false, and the
// pipeline files them under the host the address decides
// (server/pipeline/plain_source_host.h).
//
// Each sender address may send rate_per_source messages per second (burst
// burst_per_source), over every plaintext listener together: UDP datagrams
// beyond it are dropped and counted (UDP cannot push back), a TCP connection
// stops reading until its address has room again (back-pressure). The
// commit queue being full holds the frames read and stops reading, as on the
// TLS port; for UDP the socket's receive buffer (receive_buffer_bytes,
// SO_RCVBUF) absorbs what arrives meanwhile, beyond it the kernel drops.
// While `disk_full` is up (disk_full_action "block", server/app/space_watch.h)
// UDP datagrams are dropped at once and counted (reason "disk_full"): holding
// them would only delay the same drop to the kernel, uncounted; TCP stops
// reading as on a full queue.
//
// Concurrency: construct/Stop from the composition root; the rest runs on
// the io_context's threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/base/clock.h"
#include "common/metrics/counter_registry.h"

namespace boost::asio {
class io_context;
}

namespace trailkeep {

struct IngestPorts;

struct PlainSyslogOptions {
  std::vector<std::string> udp_addresses;  // [[listen.udp]]; "host:port", port 0 picks one
  std::vector<std::string> tcp_addresses;  // [[listen.tcp]]
  size_t max_frame_bytes = 64 * 1024;      // [limits]
  int idle_timeout_ms = 600'000;           // [limits]: TCP connections
  size_t max_connections = 1'000;          // TCP connections open at once
  int receive_buffer_bytes = 0;            // SO_RCVBUF of each socket; 0: the system's
  double rate_per_source = 0;              // messages/s per sender address; 0: unlimited
  double burst_per_source = 0;             // bucket size; 0: one second's worth
  ClockPtr clock = MakeSystemClock();      // receive times and the rate limit's refill
  // Up while the store's disk is full under "block"; null: never.
  std::shared_ptr<const std::atomic<bool>> disk_full;
};

struct PlainSyslogCounters {
  std::atomic<uint64_t> udp_datagrams{0};     // received, whatever became of them
  std::atomic<uint64_t> udp_rate_limited{0};  // dropped: the sender's rate limit
  std::atomic<uint64_t> udp_oversize{0};      // dropped: above max_frame_bytes
  std::atomic<uint64_t> udp_disk_full{0};     // dropped: the store's disk is full (block)
  std::atomic<size_t> tcp_connections{0};
  std::atomic<uint64_t> tcp_accepted{0};
  std::atomic<uint64_t> tcp_refused{0};
  std::atomic<uint64_t> tcp_frames{0};
  std::atomic<uint64_t> tcp_rate_limited{0};  // pauses of a connection for its sender's limit
  std::atomic<uint64_t> tcp_framing_errors{0};
  std::atomic<uint64_t> bytes{0};
  // Frames read but not yet handed to the pipeline: shutdown waits for 0.
  std::atomic<uint64_t> frames_held{0};
};

class PlainSyslogListener {
 public:
  // Binds every address and starts receiving. Throws std::runtime_error on a
  // bad address or a port in use (start-up only). The counters are
  // registered in `metrics` (udp_syslog_*, tcp_syslog_*), which must outlive
  // the listener.
  PlainSyslogListener(boost::asio::io_context& io, const PlainSyslogOptions& options,
                      const IngestPorts& ports, CounterRegistry& metrics);
  ~PlainSyslogListener();
  PlainSyslogListener(const PlainSyslogListener&) = delete;
  PlainSyslogListener& operator=(const PlainSyslogListener&) = delete;

  // "ip:port" of every bound socket, with the real port when 0 was asked.
  std::vector<std::string> BoundUdp() const;
  std::vector<std::string> BoundTcp() const;
  // Stops receiving and accepting; open TCP connections end when the
  // io_context stops.
  void Stop();
  const PlainSyslogCounters& counters() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  CounterRegistry::Registration metrics_;  // reads impl_'s counters: dropped first
};

}  // namespace trailkeep
