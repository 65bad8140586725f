// EventQuery: the one implementation of "which stored events match a filter",
// shared by `trailkeepd query` (server/app/store_tools.cc) and the export
// endpoint (server/sinks/export_https_server.cc).
//
// It picks an access path from the filter (the by_ndcpp index for a ref, the
// by_host index for a host glob, by_time for a lower time bound, else the
// events CF from the cursor) and always yields events in ingest order.
//
// Cursors are exact: only events with after_seq < ingest_seq <= max_seq are
// yielded. Callers paging while ingest runs read max_seq = store.LastSeq()
// before the scan, so a page never returns a seq that a later commit could
// still precede (ingest_seqs are assigned in commit order and a commit is
// atomic).
//
// Concurrency: pure reads of a Store; callable from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

class Store;

struct EventFilter {
  int64_t since_us = INT64_MIN;  // receive time, inclusive
  int64_t until_us = INT64_MAX;  // receive time, inclusive
  std::string host;              // glob, "" = any
  std::string ref;               // NDcPP ref, "" = any
  std::string text;              // case-insensitive substring of msg, "" = any
  // Event.hostname_mismatch must be this (legacy senders whose certificate
  // does not speak for their host); unset = any.
  std::optional<bool> hostname_mismatch;
  // An extra restriction (the caller's allowed host patterns): the host must
  // match one of them. Empty = unrestricted.
  std::vector<std::string> allowed_hosts;

  bool Matches(const v1::Event& event) const;
};

// Case-insensitive (ASCII) substring test.
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);

// Calls `fn` for each event matching `filter` with after_seq < ingest_seq <=
// max_seq, in ingest order, until `fn` returns false.
Status QueryEvents(const Store& store, const EventFilter& filter, uint64_t after_seq,
                   uint64_t max_seq, const std::function<bool(const v1::Event&)>& fn);

}  // namespace trailkeep
