// Where an input stands in one file, or in the journal: shared by the tailer
// and the journal reader (which produce positions) and the spool (which
// checkpoints them with the records).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace trailkeep::agent {

inline constexpr size_t kTailBytes = 64;

struct FilePosition {
  std::string input;  // [[input]] name
  std::string path;   // the path the file was last seen under
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t offset = 0;  // every byte before it has been spooled
  std::string tail;     // the last (up to kTailBytes) bytes before offset; "" = unknown
  // A journal input (dev, ino, offset 0): the cursor of its last spooled
  // entry; "" = none yet, read from the journal's head.
  std::string cursor;
};

}  // namespace trailkeep::agent
