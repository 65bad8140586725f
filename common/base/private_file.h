// Private files (TLS, SSH and HMAC keys): mode 0600 or stricter, owned by the
// user the process runs as, and readable by it.
//
// Every message names the file, and says what is wrong in a way an operator
// can act on: "cannot read keys/web01.key: Permission denied" for a key that
// exists but cannot be read, "does not exist" only when it really does not.
#pragma once

#include <string>

#include <sys/types.h>

#include "common/base/status.h"

namespace trailkeep {

// "0640": the permission bits of `mode` as chmod takes them.
std::string OctalMode(mode_t mode);

// Ok when `mode` gives group and others no access at all; otherwise
// InvalidArgument naming `path` and its mode.
Status CheckPrivateMode(const std::string& path, mode_t mode);

// The whole of a private file, read through one open descriptor (the mode is
// checked on that descriptor, so a file swapped in between is not read).
// NotFound ("PATH does not exist") when it is missing; IoError ("cannot read
// PATH: <errno text>") when it exists but cannot be opened or read; the
// CheckPrivateMode error when `require_private` and its mode is too loose.
Result<std::string> ReadPrivateFile(const std::string& path, bool require_private = true);

// Start-up and reload check of a key the process reads later: it exists, is a
// regular file, has a private mode, belongs to `owner` (named `owner_name` in
// the message) and can be opened for reading with the current credentials.
Status CheckPrivateFile(const std::string& path, uid_t owner, const std::string& owner_name);

// The user name of `uid`, or "uid N" when it has none.
std::string UserName(uid_t uid);

}  // namespace trailkeep
