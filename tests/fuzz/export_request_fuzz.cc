// The HTTPS API's query strings and parameters (server/sinks/export_request):
// percent-decoding, cursors, limits, RFC 3339 and relative times, host
// globs, and the filter they make applied to an event. Input: one request
// target ("/v1/events?cursor=10&since=-1h").
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/api_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trailkeep::fuzz::HandleTarget(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
