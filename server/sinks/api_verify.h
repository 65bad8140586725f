// GET /v1/verify (docs/api.md): re-verification of one host's stored chain,
// streamed as NDJSON (progress lines, one line per broken range, a result).
// The scan runs on the verify pool; its lines are posted to the session's
// strand and written as chunks. A failed write cancels the scan. At most
// max_verifies run at once (more get 503). Internal to server/sinks.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "server/sinks/export_request.h"

namespace trailkeep {

class ApiSession;

class VerifyStream {
 public:
  explicit VerifyStream(ApiSession& session) : s_(session) {}
  ~VerifyStream();

  void Start(const QueryParams& params);

 private:
  static void Run(std::shared_ptr<ApiSession> session, VerifyStream* stream,
                  const std::string& host, const std::atomic<bool>* cancel);
  void StartStream();
  void Append(const std::string& lines, bool last);
  void Flush();
  void Failed();
  void Release();

  ApiSession& s_;
  // Strand only, except *cancel_.
  bool holds_ = false;    // counts in server.counters.verifies
  bool started_ = false;  // the chunked header is out
  bool writing_ = false;
  bool last_ = false;  // the final lines are queued
  std::string host_;
  std::string out_;  // lines not yet written
  std::shared_ptr<std::atomic<bool>> cancel_;
};

}  // namespace trailkeep
