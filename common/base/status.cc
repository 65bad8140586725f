#include "common/base/status.h"

namespace trailkeep {

std::string Status::ToString() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      name = "invalid argument";
      break;
    case Code::kNotFound:
      name = "not found";
      break;
    case Code::kCorruption:
      name = "corruption";
      break;
    case Code::kIoError:
      name = "I/O error";
      break;
    case Code::kUnavailable:
      name = "unavailable";
      break;
    case Code::kAborted:
      name = "aborted";
      break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace trailkeep
