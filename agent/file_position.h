// Where an input stands in one file: shared by the tailer (which produces
// positions) and the spool (which checkpoints them with the records).
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
};

}  // namespace trailkeep::agent
