// Protobuf logs every string field it refuses ("contains invalid UTF-8") at
// ERROR; fuzzed input makes that every run. Discards those messages (a
// FATAL one still aborts).
#pragma once

#include <google/protobuf/stubs/logging.h>

namespace trailkeep::fuzz {

inline void QuietProtobuf() { google::protobuf::SetLogHandler(nullptr); }

}  // namespace trailkeep::fuzz
