// ConfigError: one problem found in a configuration or rules file, with
// where it is, so that every error of a file can be reported in one pass.
#pragma once

#include <string>

namespace trailkeep {

struct ConfigError {
  std::string file;
  int line = 0;  // 0 when the error has no position (a required key is missing)
  std::string message;
  // "file:line: message", "file: message" without a line, or the message
  // alone when `file` is empty (it then carries its own position).
  std::string ToString() const;
};

}  // namespace trailkeep
