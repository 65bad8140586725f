#include "common/audit/syscall_names.h"

#include <algorithm>
#include <span>

#include <linux/audit.h>

namespace trailkeep::audit {
namespace {

struct SyscallEntry {
  int64_t number;
  std::string_view name;
};

#include "syscall_tables.inc"

struct ArchInfo {
  uint32_t arch;
  std::string_view name;
  std::span<const SyscallEntry> table;
};

// Names as libaudit's machine table spells them (ausearch -i).
constexpr ArchInfo kArches[] = {
    {AUDIT_ARCH_X86_64, "x86_64", kx86_64},    {AUDIT_ARCH_I386, "i386", ki386},
    {AUDIT_ARCH_AARCH64, "aarch64", kaarch64}, {AUDIT_ARCH_ARM, "arm", karm},
    {AUDIT_ARCH_ARMEB, "armeb", karm},         {AUDIT_ARCH_PPC64, "ppc64", kppc64},
    {AUDIT_ARCH_PPC64LE, "ppc64le", kppc64},   {AUDIT_ARCH_S390X, "s390x", ks390x},
};

const ArchInfo* FindArch(uint32_t arch) {
  for (const ArchInfo& a : kArches) {
    if (a.arch == arch) return &a;
  }
  return nullptr;
}

}  // namespace

std::string_view ArchName(uint32_t audit_arch) {
  const ArchInfo* a = FindArch(audit_arch);
  return a == nullptr ? std::string_view() : a->name;
}

std::string_view SyscallName(uint32_t audit_arch, int64_t number) {
  const ArchInfo* a = FindArch(audit_arch);
  if (a == nullptr) return {};
  // ausyscall dumps in ascending order, so the tables are sorted.
  const auto it = std::lower_bound(a->table.begin(), a->table.end(), number,
                                   [](const SyscallEntry& e, int64_t n) { return e.number < n; });
  return it != a->table.end() && it->number == number ? it->name : std::string_view();
}

}  // namespace trailkeep::audit
