// The files of a spool directory (agent/spool.h): segments named
//   seg-<first seq, 20 digits>.tks
// and the checkpoint "state" (agent/spool_checkpoint_file.h), created through
// "state.tmp".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace trailkeep::agent {

inline constexpr char kCheckpointName[] = "state";
inline constexpr char kCheckpointTmpName[] = "state.tmp";

// One segment file and what is known of its records.
struct SpoolSegment {
  uint64_t first_seq = 0;  // from the file name
  uint64_t last_seq = 0;   // highest seq inside (0: none)
  uint64_t size = 0;       // bytes of valid records
  std::string path;
};

// dir/seg-<first_seq, 20 digits>.tks
std::string SpoolSegmentPath(const std::string& dir, uint64_t first_seq);

// The segment files in `dir`, sorted by first seq; last_seq and size are 0
// (nothing is read). Other files are ignored.
Result<std::vector<SpoolSegment>> ListSpoolSegments(const std::string& dir);

}  // namespace trailkeep::agent
