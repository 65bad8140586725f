#include "server/app/privileges.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/base/private_file.h"

namespace trailkeep {
namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::vector<char> NssBuffer(int which) {
  const long size = ::sysconf(which);
  return std::vector<char>(size > 0 ? static_cast<size_t>(size) : 16384);
}

// Empties the calling thread's ambient, inheritable, permitted and effective
// sets. Raw system calls only: it also runs as a signal handler.
void DropOwnCapabilities() {
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  ::syscall(SYS_capset, &header, data);
}

extern "C" void OnDropCapabilitiesSignal(int) {
  const int saved = errno;
  DropOwnCapabilities();
  errno = saved;
}

std::vector<pid_t> Tasks() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    out.push_back(static_cast<pid_t>(std::stol(e.path().filename().string())));
  }
  return out;
}

Result<TaskCredentials> ReadTask(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/status");
  if (!in) return Status::NotFound("thread " + std::to_string(tid) + " is gone");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseTaskStatus(ss.str());
}

bool HasCapabilities(const TaskCredentials& c) {
  return (c.cap_inh | c.cap_prm | c.cap_eff | c.cap_amb) != 0;
}

std::string Hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Describe(pid_t tid, const TaskCredentials& c) {
  return "thread " + std::to_string(tid) + " has CapInh " + Hex(c.cap_inh) + " CapPrm " +
         Hex(c.cap_prm) + " CapEff " + Hex(c.cap_eff) + " CapAmb " + Hex(c.cap_amb);
}

// capset(2) changes the calling thread only, and by the time the ports are
// bound RocksDB and the committer have threads of their own, which inherited
// the start-up capabilities: each is asked, by a signal whose handler drops
// its own, as glibc does for set*id. Threads are listed again until none has
// a capability left (a thread may have been created meanwhile).
Status DropCapabilitiesInEveryThread() {
  const int sig = SIGRTMIN + 4;
  struct sigaction action {};
  action.sa_handler = OnDropCapabilitiesSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (::sigaction(sig, &action, nullptr) != 0) return Status::IoError(Errno("sigaction"));
  DropOwnCapabilities();
  const pid_t self = static_cast<pid_t>(::syscall(SYS_gettid));
  std::string left;
  for (int round = 0; round < 100; ++round) {
    left.clear();
    for (pid_t tid : Tasks()) {
      auto c = ReadTask(tid);
      if (!c.ok() || !HasCapabilities(c.value())) continue;
      left = Describe(tid, c.value());
      if (tid == self) {
        DropOwnCapabilities();
      } else {
        ::syscall(SYS_tgkill, ::getpid(), tid, sig);
      }
    }
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Not back to the default action (which ends the process) while a thread
  // that blocks the signal may still have it pending.
  ::signal(sig, SIG_IGN);
  if (!left.empty()) {
    return Status::Aborted("capabilities could not be dropped in every thread: " + left);
  }
  return Status::Ok();
}

// Every thread runs as `u` (when configured) with no capability at all.
Status Verify(const ServiceUser& u) {
  for (pid_t tid : Tasks()) {
    auto c = ReadTask(tid);
    if (!c.ok()) continue;
    if (HasCapabilities(c.value())) return Status::Aborted(Describe(tid, c.value()));
    if (!u.configured) continue;
    for (uint64_t id : c.value().uids) {
      if (id != u.uid) {
        return Status::Aborted("thread " + std::to_string(tid) + " still has uid " +
                               std::to_string(id) + ", not " + std::to_string(u.uid));
      }
    }
    for (uint64_t id : c.value().gids) {
      if (id != u.gid) {
        return Status::Aborted("thread " + std::to_string(tid) + " still has gid " +
                               std::to_string(id) + ", not " + std::to_string(u.gid));
      }
    }
  }
  if (u.configured && ::setuid(0) == 0) return Status::Aborted("root could be regained");
  return Status::Ok();
}

}  // namespace

Result<ServiceUser> ResolveServiceUser(const std::string& user, const std::string& group) {
  ServiceUser u;
  if (user.empty()) {
    if (!group.empty()) return Status::InvalidArgument("server.group needs server.user");
    return u;
  }
  u.configured = true;
  u.user = user;
  auto buf = NssBuffer(_SC_GETPW_R_SIZE_MAX);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return Status::NotFound("server.user = \"" + user +
                            "\": no such user (create it: useradd --system " + user + ")");
  }
  u.uid = found->pw_uid;
  u.gid = found->pw_gid;
  if (u.uid == 0) {
    return Status::InvalidArgument("server.user = \"" + user +
                                   "\" is root, which keeps every privilege; name the service "
                                   "user (trailkeep)");
  }
  if (!group.empty()) {
    auto gbuf = NssBuffer(_SC_GETGR_R_SIZE_MAX);
    struct group gr {};
    struct group* gfound = nullptr;
    if (::getgrnam_r(group.c_str(), &gr, gbuf.data(), gbuf.size(), &gfound) != 0 ||
        gfound == nullptr) {
      return Status::NotFound("server.group = \"" + group + "\": no such group");
    }
    u.gid = gfound->gr_gid;
    u.group = group;
  } else {
    auto gbuf = NssBuffer(_SC_GETGR_R_SIZE_MAX);
    struct group gr {};
    struct group* gfound = nullptr;
    const bool named =
        ::getgrgid_r(u.gid, &gr, gbuf.data(), gbuf.size(), &gfound) == 0 && gfound != nullptr;
    u.group = named ? gfound->gr_name : std::to_string(u.gid);
  }
  if (u.gid == 0) {
    return Status::InvalidArgument("server.group is root (gid 0); name the service group");
  }
  return u;
}

uid_t RunUid(const ServiceUser& u) { return u.configured ? u.uid : ::geteuid(); }

std::string RunUserName(const ServiceUser& u) {
  return u.configured ? u.user : UserName(::geteuid());
}

Status AssumeServiceUser(const ServiceUser& u) {
  if (!u.configured) return Status::Ok();
  if (::geteuid() != 0) {
    if (::getuid() != u.uid || ::geteuid() != u.uid) {
      return Status::InvalidArgument(
          "server.user = \"" + u.user + "\", but trailkeepd was started as " +
          UserName(::geteuid()) + ", which cannot switch users: start it as root or as " + u.user);
    }
    if (::getgid() != u.gid || ::getegid() != u.gid) {
      return Status::InvalidArgument(
          "server.group is " + u.group + ", but trailkeepd was started with group id " +
          std::to_string(::getegid()) +
          ", which it cannot change: start it as root or with group " + u.group);
    }
    return Status::Ok();
  }
  // setfsuid and setfsgid change the calling thread only, hence one thread.
  if (Tasks().size() != 1) {
    return Status::Aborted("internal: threads started before the switch to " + u.user);
  }
  const gid_t groups[] = {u.gid};
  if (::setgroups(1, groups) != 0) return Status::Aborted(Errno("setgroups"));
  ::setfsgid(u.gid);
  ::setfsuid(u.uid);
  // Both return the previous value; asking with an invalid id reads it.
  if (static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) != u.uid ||
      static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))) != u.gid) {
    return Status::Aborted("cannot switch file access to " + u.user);
  }
  return Status::Ok();
}

Status DropPrivileges(const ServiceUser& u) {
  if (u.configured && ::geteuid() == 0) {
    // gid first: without root, setgid would no longer be allowed.
    const gid_t groups[] = {u.gid};
    if (::setgroups(1, groups) != 0) return Status::Aborted(Errno("setgroups"));
    if (::setgid(u.gid) != 0) return Status::Aborted(Errno("setgid " + u.group));
    if (::setuid(u.uid) != 0) return Status::Aborted(Errno("setuid " + u.user));
  } else if (!u.configured && ::geteuid() == 0) {
    return Status::Ok();  // root by choice; the caller warns
  }
  if (Status s = DropCapabilitiesInEveryThread(); !s.ok()) return s;
  return Verify(u);
}

Result<TaskCredentials> ParseTaskStatus(const std::string& text) {
  TaskCredentials c;
  bool caps = false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    std::istringstream values(line.substr(colon + 1));
    if (key == "Uid" || key == "Gid") {
      auto& out = key == "Uid" ? c.uids : c.gids;
      uint64_t v;
      while (values >> v) out.push_back(v);
    } else if (key == "CapInh" || key == "CapPrm" || key == "CapEff" || key == "CapAmb") {
      std::string hex;
      values >> hex;
      uint64_t v = 0;
      try {
        v = std::stoull(hex, nullptr, 16);
      } catch (const std::exception&) {
        return Status::InvalidArgument("bad " + key + " line: " + line);
      }
      (key == "CapInh"   ? c.cap_inh
       : key == "CapPrm" ? c.cap_prm
       : key == "CapEff" ? c.cap_eff
                         : c.cap_amb) = v;
      caps = true;
    }
  }
  if (c.uids.size() != 4 || c.gids.size() != 4 || !caps) {
    return Status::InvalidArgument("not a /proc status file");
  }
  return c;
}

}  // namespace trailkeep
