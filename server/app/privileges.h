// Least privilege for the collector ([server] user and group,
// docs/configuration.md).
//
//   - Started as root with [server] user: AssumeServiceUser(), first thing,
//     while the process has one thread, makes the service user's group the
//     only supplementary group and switches the filesystem uid and gid to
//     the service user: every file made from then on belongs to it and every
//     file access (keys, data folder) is checked as it, while the process can
//     still bind ports below 1024. DropPrivileges(), once the listeners are
//     bound, sets the real, effective and saved ids (glibc applies set*id to
//     every thread), then every thread drops every capability.
//   - Started as the service user (systemd: User=, AmbientCapabilities=
//     CAP_NET_BIND_SERVICE): DropPrivileges() drops that capability in every
//     thread once the ports are bound.
//   - Started as root without [server] user: it stays root (the caller warns).
// DropPrivileges() verifies the result in /proc/self/task/*/status (ids, and
// empty CapInh/CapPrm/CapEff/CapAmb) and fails if anything is left: the
// caller must then refuse to run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/base/status.h"

namespace trailkeep {

struct ServiceUser {
  bool configured = false;  // [server] user set
  std::string user;         // names, for messages
  std::string group;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Resolves [server] user and group; an empty `group` is the user's primary
// group. Root (uid or gid 0) is refused: it would keep every privilege.
Result<ServiceUser> ResolveServiceUser(const std::string& user, const std::string& group);

// Who owns and reads the collector's files after start-up: the service user,
// or whoever the process runs as when none is configured.
uid_t RunUid(const ServiceUser& u);
std::string RunUserName(const ServiceUser& u);

// See above. Call while the process has a single thread.
Status AssumeServiceUser(const ServiceUser& u);
// See above. Call once every listening socket is bound.
Status DropPrivileges(const ServiceUser& u);

// One thread's credentials as /proc/<pid>/task/<tid>/status shows them.
struct TaskCredentials {
  std::vector<uint64_t> uids;  // real, effective, saved, filesystem
  std::vector<uint64_t> gids;
  uint64_t cap_inh = 0, cap_prm = 0, cap_eff = 0, cap_amb = 0;
};
Result<TaskCredentials> ParseTaskStatus(const std::string& status_text);

}  // namespace trailkeep
