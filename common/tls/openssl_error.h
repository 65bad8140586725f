// OpenSSL's error queue as a Status: "WHAT: <the first queued reason>".
//
// OpenSslError takes the oldest queued error (the root cause) and clears the
// queue, so a later failure never reports this one. InvalidArgument: every
// caller is setting up a context from configuration.
#pragma once

#include <string>

#include "common/base/status.h"

namespace trailkeep {

Status OpenSslError(const std::string& what);

}  // namespace trailkeep
