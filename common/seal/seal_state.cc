#include "common/seal/seal_state.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include "common/base/bytes.h"
#include "common/base/private_file.h"

namespace trailkeep {

namespace {

constexpr std::string_view kMagic = "trailkeep-seal-state 1";

std::string Padded(uint64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(v));
  return buf;
}

bool ParseU64(const std::string& text, uint64_t* out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

SealState SealState::Initial(const VerificationKey& vk) {
  SealState s;
  s.key_id = vk.key_id();
  s.schedule = vk.schedule;
  s.key = vk.k0;
  return s;
}

void SealState::StepTo(uint64_t target) {
  while (period < target) {
    std::string next = StepSealKey(key);
    OPENSSL_cleanse(key.data(), key.size());
    key = std::move(next);
    ++period;
  }
}

std::string FormatSealState(const SealState& s) {
  return std::string(kMagic) + "\nkey_id " + s.key_id + "\nt0_us " +
         Padded(static_cast<uint64_t>(s.schedule.t0_us), 20) + "\nperiod_us " +
         Padded(static_cast<uint64_t>(s.schedule.period_us), 20) + "\nperiod " +
         Padded(s.period, 20) + "\nkey " + LowerHex(s.key) + "\nchain " + Padded(s.chain, 10) +
         "\ntick_seq " + Padded(s.tick_seq, 20) + "\n";
}

Result<SealState> ParseSealState(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  if (!std::getline(in, line) || line != kMagic) {
    return Status::InvalidArgument("not a trailkeep seal state file");
  }
  SealState s;
  int seen = 0;
  while (std::getline(in, line)) {
    const size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    const std::string name = line.substr(0, sp);
    const std::string value = line.substr(sp + 1);
    uint64_t n = 0;
    if (name == "key_id") {
      s.key_id = value;
    } else if (name == "key") {
      if (!ParseLowerHex(value, &s.key) || s.key.size() != kSealKeyBytes) {
        return Status::InvalidArgument("bad key");
      }
    } else if (!ParseU64(value, &n)) {
      return Status::InvalidArgument("bad " + name);
    } else if (name == "t0_us") {
      s.schedule.t0_us = static_cast<int64_t>(n);
    } else if (name == "period_us") {
      s.schedule.period_us = static_cast<int64_t>(n);
    } else if (name == "period") {
      s.period = n;
    } else if (name == "chain") {
      s.chain = static_cast<uint32_t>(n);
    } else if (name == "tick_seq") {
      s.tick_seq = n;
    } else {
      continue;
    }
    ++seen;
  }
  if (seen < 7 || s.schedule.period_us <= 0) {
    return Status::InvalidArgument("incomplete seal state");
  }
  return s;
}

Result<SealState> ReadSealStateFile(const std::string& path) {
  auto text = ReadPrivateFile(path);
  if (!text.ok()) return text.status();
  auto state = ParseSealState(text.value());
  if (!state.ok()) return Status::InvalidArgument(path + ": " + state.status().message());
  return state;
}

Status WriteSealStateFile(const std::string& path, const SealState& state) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  std::string text = FormatSealState(state);
  // In place: the old key's bytes are overwritten where they were.
  const bool ok = ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()) &&
                  ::ftruncate(fd, static_cast<off_t>(text.size())) == 0 && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) return Status::IoError("cannot write " + path + ": " + std::strerror(err));
  return Status::Ok();
}

}  // namespace trailkeep
