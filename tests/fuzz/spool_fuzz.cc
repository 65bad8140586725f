// The agent's spool read back from a hostile disk (a spool on a shared or
// tampered volume is untrusted input): Spool::Open's recovery (checkpoint,
// segment scan, torn tails, roll forward over the records' chain elements),
// then Read, Acknowledge and one Append on what it made of it, then Open
// again. Input (FuzzedDataProvider): the checkpoint file, then up to three
// segments, each named by a small first seq and made of records that are
// framed with a correct CRC (so the fuzzer reaches the payload decoding) or
// written as raw bytes. The spool lives under /dev/shm when there is one.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "agent/spool.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace {

namespace fs = std::filesystem;
using trailkeep::agent::AppendFramedRecord;
using trailkeep::agent::Spool;
using trailkeep::agent::SpooledMessage;
using trailkeep::agent::SpoolEntry;

const trailkeep::ManualClock kClock(1795410000000000);
const trailkeep::ManualClock kLater(1795410000000001);

std::string FuzzedFile(FuzzedDataProvider* in) {
  std::string bytes;
  const int records = in->ConsumeIntegralInRange<int>(0, 6);
  for (int i = 0; i < records; ++i) {
    const bool framed = in->ConsumeBool();
    const std::string payload = in->ConsumeRandomLengthString(4096);
    if (framed) {
      AppendFramedRecord(payload, &bytes);
    } else {
      bytes += payload;
    }
  }
  return bytes;
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

const fs::path& Dir() {
  static const fs::path dir = [] {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    return base / ("tk-spool-fuzz-" + std::to_string(::getpid()));
  }();
  return dir;
}

// Reads everything from the first spooled seq on; bounded, as the link's
// batches are.
void ReadAll(Spool* spool) {
  uint64_t from = spool->first_seq();
  for (int batch = 0; batch < 64; ++batch) {
    std::vector<SpooledMessage> out;
    if (!spool->Read(from, 512, &out).ok() || out.empty()) return;
    uint64_t highest = 0;
    for (const auto& m : out) {
      FUZZ_CHECK(m.seq >= from);
      highest = std::max(highest, m.seq);
    }
    if (highest == UINT64_MAX) return;
    from = highest + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  trailkeep::fuzz::QuietProtobuf();
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  fs::remove_all(Dir());
  fs::create_directories(Dir());
  if (in.ConsumeBool()) WriteFile(Dir() / "state", FuzzedFile(&in));
  const int segments = in.ConsumeIntegralInRange<int>(0, 3);
  for (int i = 0; i < segments; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "seg-%020llu.tks",
                  static_cast<unsigned long long>(in.ConsumeIntegralInRange<uint64_t>(0, 40)));
    WriteFile(Dir() / name, FuzzedFile(&in));
  }
  const uint64_t ack = in.ConsumeIntegralInRange<uint64_t>(0, 50);

  auto opened = Spool::Open({Dir().string(), 1 << 20, 4096}, kClock);
  if (!opened.ok()) return 0;
  std::unique_ptr<Spool> spool = std::move(opened.value());
  FUZZ_CHECK(spool->head_mac().size() == 32);
  FUZZ_CHECK(spool->epoch() != 0);
  ReadAll(spool.get());
  (void)spool->Acknowledge(ack);
  ReadAll(spool.get());

  // The agent goes on appending after whatever it recovered.
  const uint64_t seq = spool->next_seq();
  if (seq == 0) return 0;  // last_seq was UINT64_MAX
  SpoolEntry entry;
  entry.seq = seq;
  entry.message = "<13>1 - h a - - - appended";
  const trailkeep::Status appended =
      spool->Append({entry}, std::string(32, 'm'), spool->positions());
  if (!appended.ok()) std::fprintf(stderr, "Append: %s\n", appended.ToString().c_str());
  FUZZ_CHECK(appended.ok());
  FUZZ_CHECK(spool->last_seq() == seq);
  spool.reset();

  auto again = Spool::Open({Dir().string(), 1 << 20, 4096}, kLater);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value()->last_seq() >= seq);
  return 0;
}
