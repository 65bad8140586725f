#include "common/audit/interpret.h"

#include <array>
#include <charconv>
#include <cstring>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "common/audit/syscall_names.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::audit {
namespace {

constexpr uint64_t kUnset = 4294967295u;  // (uid_t)-1: never set (auid, ses)

enum class Kind { kNone, kUser, kGroup, kArch, kSyscall, kExit, kHexText, kSaddr, kRes, kSes };

// Which interpretation a field gets, by name (auparse's lookup table idea).
Kind KindOf(std::string_view key) {
  static constexpr std::array<std::string_view, 10> kUsers = {
      "uid", "auid", "euid", "suid", "fsuid", "ouid", "old-auid", "id", "inode_uid", "sauid"};
  static constexpr std::array<std::string_view, 7> kGroups = {
      "gid", "egid", "sgid", "fsgid", "ogid", "inode_gid", "new_gid"};
  static constexpr std::array<std::string_view, 7> kHex = {"proctitle", "cmd",  "comm", "exe",
                                                           "cwd",       "name", "acct"};
  for (auto k : kUsers) {
    if (key == k) return Kind::kUser;
  }
  for (auto k : kGroups) {
    if (key == k) return Kind::kGroup;
  }
  for (auto k : kHex) {
    if (key == k) return Kind::kHexText;
  }
  if (key == "arch") return Kind::kArch;
  if (key == "syscall") return Kind::kSyscall;
  if (key == "exit") return Kind::kExit;
  if (key == "saddr") return Kind::kSaddr;
  if (key == "res") return Kind::kRes;
  if (key == "ses") return Kind::kSes;
  return Kind::kNone;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out, int base = 10) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool DecodeHexBytes(std::string_view hex, std::string* out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexDigit(hex[i]), lo = HexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

// A user or group id: name from the map, "unset", or the id marked unresolved.
void InterpretId(std::string_view raw, bool user, const IdentityMap* ids, v1::AuditField* f) {
  uint64_t id = 0;
  if (!ParseNumber(raw, &id)) return;
  if (id == kUnset) {
    f->set_value("unset");
    return;
  }
  if (ids == nullptr) {
    f->set_value(std::string(raw));
    f->set_unresolved(true);
    return;
  }
  const auto name = user ? ids->User(id) : ids->Group(id);
  if (name) {
    f->set_value(std::string(*name));
  } else {
    f->set_value("unknown(" + std::string(raw) + ")");
    f->set_unresolved(true);
  }
}

// "ENOENT(No such file or directory)" for a negative exit, as ausearch -i.
bool InterpretExit(std::string_view raw, std::string* out) {
  int64_t v = 0;
  if (!ParseNumber(raw, &v) || v >= 0 || v < -4095) return false;
  const int err = static_cast<int>(-v);
  const char* name = strerrorname_np(err);
  const char* desc = strerrordesc_np(err);
  if (name == nullptr || desc == nullptr) return false;
  *out = std::string(name) + "(" + desc + ")";
  return true;
}

// Fields of one record that others depend on (syscall names need the arch).
uint32_t ArchOf(const AuditRecord& record) {
  uint32_t arch = 0;
  ForEachAuditField(record.body, [&arch](const AuditFieldView& f) {
    if (f.key == "arch" && !f.quoted) ParseNumber(f.value, &arch, 16);
  });
  return arch;
}

// The interpreted value of one field; false when it has none.
bool InterpretField(const AuditFieldView& f, const AuditRecord& record, uint32_t arch,
                    const IdentityMap* ids, v1::AuditField* out) {
  const Kind kind = KindOf(f.key);
  if (kind == Kind::kNone || f.quoted) return false;
  std::string value;
  switch (kind) {
    case Kind::kUser:
    case Kind::kGroup:
      InterpretId(f.value, kind == Kind::kUser, ids, out);
      return !out->value().empty();
    case Kind::kArch:
      value = std::string(ArchName(arch));
      break;
    case Kind::kSyscall: {
      int64_t n = 0;
      if (ParseNumber(f.value, &n)) value = std::string(SyscallName(arch, n));
      break;
    }
    case Kind::kExit:
      if (record.type != "SYSCALL" || !InterpretExit(f.value, &value)) return false;
      break;
    case Kind::kHexText:
      if (!DecodeHexString(f.value, &value)) return false;
      break;
    case Kind::kSaddr:
      if (!DecodeSaddr(f.value, &value)) return false;
      break;
    case Kind::kRes:
      if (f.value == "1" || f.value == "0") value = f.value == "1" ? "yes" : "no";
      break;
    case Kind::kSes:
      if (f.value == "4294967295") value = "unset";
      break;
    case Kind::kNone:
      break;
  }
  if (value.empty()) return false;
  out->set_value(std::move(value));
  return true;
}

uint16_t Be16(const std::string& b, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(b[at]) << 8) |
                               static_cast<uint8_t>(b[at + 1]));
}

}  // namespace

bool DecodeHexString(std::string_view hex, std::string* out) {
  if (!DecodeHexBytes(hex, out)) return false;
  // proctitle separates argv with NULs; ausearch shows them as spaces.
  while (!out->empty() && out->back() == '\0') out->pop_back();
  for (char& c : *out) {
    if (c == '\0') c = ' ';
  }
  return true;
}

bool DecodeSaddr(std::string_view hex, std::string* out) {
  std::string b;
  if (!DecodeHexBytes(hex, &b) || b.size() < 2) return false;
  // sa_family is in the sender's byte order: little-endian on the arches
  // auditd runs on here (x86, arm, aarch64).
  const unsigned family =
      static_cast<uint8_t>(b[0]) | (static_cast<unsigned>(static_cast<uint8_t>(b[1])) << 8);
  char addr[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET && b.size() >= 8) {
    inet_ntop(AF_INET, b.data() + 4, addr, sizeof addr);
    *out = "{ saddr_fam=inet laddr=" + std::string(addr) + " lport=" + std::to_string(Be16(b, 2)) +
           " }";
  } else if (family == AF_INET6 && b.size() >= 24) {
    inet_ntop(AF_INET6, b.data() + 8, addr, sizeof addr);
    *out = "{ saddr_fam=inet6 laddr=" + std::string(addr) + " lport=" + std::to_string(Be16(b, 2)) +
           " }";
  } else if (family == AF_UNIX) {
    std::string path = b.substr(2);
    if (!path.empty() && path[0] == '\0') path[0] = '@';  // abstract socket
    path = path.substr(0, path.find('\0'));
    *out = "{ saddr_fam=local path=" + path + " }";
  } else if (family == AF_NETLINK && b.size() >= 8) {
    uint32_t pid = 0;
    std::memcpy(&pid, b.data() + 4, sizeof pid);
    *out = "{ saddr_fam=netlink nlnk-fam=16 nlnk-pid=" + std::to_string(pid) + " }";
  } else {
    *out = "{ saddr_fam=unknown-family(" + std::to_string(family) + ") }";
  }
  return true;
}

void InterpretRecord(const AuditRecord& record, const IdentityMap* ids, v1::AuditRecord* out) {
  const uint32_t arch = ArchOf(record);
  ForEachAuditField(record.body, [&](const AuditFieldView& f) {
    v1::AuditField field;
    if (!InterpretField(f, record, arch, ids, &field)) return;
    field.set_name(std::string(f.key));
    field.set_raw(std::string(f.value));
    *out->add_fields() = std::move(field);
  });
}

}  // namespace trailkeep::audit
