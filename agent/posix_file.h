// POSIX file helpers the agent's durable files share: whole writes and
// reads that retry EINTR, directory fsync, and atomic replacement. Errors are
// IoError naming the file and carrying strerror(errno).
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"

namespace trailkeep::agent {

// "<what>: <strerror(errno)>", for the errno just set.
std::string ErrnoMessage(const std::string& what);

// Writes all of `data` to `fd`, however many write(2) calls it takes.
Status WriteAll(int fd, std::string_view data);

// fsync(2) of a directory: makes the creation, rename or removal of its
// entries durable.
Status FsyncDir(const std::string& dir);

// The whole file; NotFound (the path) when it does not exist.
Result<std::string> ReadWholeFile(const std::string& path);

// Replaces dir/name with `data` so that a crash leaves the old file or the
// new one, never a mix: writes dir/tmp_name (mode 0600), fsyncs it, renames
// it over dir/name, fsyncs dir.
Status ReplaceFile(const std::string& dir, const std::string& name, const std::string& tmp_name,
                   std::string_view data);

}  // namespace trailkeep::agent
