// `trailkeep verify --export FILE --key KEY` on a hostile file: the NDJSON
// reader, base64, the rebuilt chain (ChainAuditor) and every field check
// (ExportFieldCheck re-parses raw_b64 with the exported receive_time and
// enterprise_number, rebuilds grouped audit events, matches members).
// Input: the export file. The key is the unit tests' (32 bytes of 0x42), so
// seeds made with it carry valid MACs. Output goes to /dev/null; the exit
// code must be one of the documented three.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "agent/verify_export.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace {

namespace fs = std::filesystem;

fs::path Base() {
  const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  return base / ("tk-verify-fuzz-" + std::to_string(::getpid()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  trailkeep::fuzz::QuietProtobuf();
  fs::create_directories(Base());
  const fs::path key = Base() / "key";
  std::string hex;  // 32 bytes of 0x42
  for (int i = 0; i < 32; ++i) hex += "42";
  std::ofstream(key) << hex << "\n";
  ::chmod(key.c_str(), 0600);
  std::cerr.rdbuf(nullptr);  // its messages; libFuzzer writes to the fd
  if (std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path file = Base() / "export.ndjson";
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  const int rc = trailkeep::agent::RunVerifyExport(file.string(), (Base() / "key").string(), "");
  FUZZ_CHECK(rc == 0 || rc == 1 || rc == 2);
  return 0;
}
