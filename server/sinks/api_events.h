// GET /v1/events (docs/api.md): one page of events after a cursor, read on
// the read pool and streamed in chunks of about 64 KiB; the next cursor in a
// header and, for NDJSON, a last line. At most max_streams pages are in
// flight (more get 503). Internal to server/sinks.
#pragma once

#include <cstddef>
#include <memory>

#include "server/sinks/export_request.h"

namespace trailkeep {

class ApiSession;
struct EventsPage;

class EventsResponse {
 public:
  explicit EventsResponse(ApiSession& session) : s_(session) {}
  ~EventsResponse();

  void Start(const QueryParams& params);

 private:
  void OnPage(std::shared_ptr<EventsPage> page);
  void WriteChunk();
  void Release();

  ApiSession& s_;
  EventsRequest req_;
  bool holds_stream_ = false;
  std::shared_ptr<EventsPage> page_;
  size_t next_ = 0;
  bool trailer_written_ = false;
};

}  // namespace trailkeep
