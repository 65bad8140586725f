// Audit arch and syscall names, as ausearch -i prints them.
//
// Arch values are the kernel's AUDIT_ARCH_* (<linux/audit.h>); the syscall
// tables are generated at build time from `ausyscall ARCH --dump`
// (gen_syscall_tables.sh), for x86_64, i386, aarch64, arm, ppc64 and s390x.
#pragma once

#include <cstdint>
#include <string_view>

namespace trailkeep::audit {

// "x86_64" for 0xc000003e, ...; "" when unknown.
std::string_view ArchName(uint32_t audit_arch);
// The name of syscall `number` on `audit_arch`; "" when unknown.
std::string_view SyscallName(uint32_t audit_arch, int64_t number);

}  // namespace trailkeep::audit
