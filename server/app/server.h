// Server: the composition root of trailkeepd. Builds the store, committer,
// self-audit, pipeline and listeners from a validated ServerConfig, runs the
// io_context on its threads, and shuts down in order on SIGINT/SIGTERM:
// stop accepting, close connections, commit what was handed over, record
// the shutdown, close the store.
#pragma once

#include "server/app/config.h"

namespace trailkeep {

// Runs until a termination signal. Returns the process exit code. Start-up
// failures (store, certificates, ports) are printed and give exit code 1.
int RunServer(const ServerConfig& config);

}  // namespace trailkeep
