#include "common/seal/seal_key.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include "common/base/bytes.h"
#include "common/base/private_file.h"
#include "common/seal/seal_mac.h"

namespace trailkeep {

namespace {

constexpr std::string_view kMagic = "trailkeep-seal-verification-key 1";

}  // namespace

std::string StepSealKey(std::string_view key) { return SealMac(key, "trailkeep seal step"); }

std::string SealKeyId(std::string_view k0) {
  return LowerHex(SealMac(k0, "trailkeep seal key id").substr(0, 8));
}

uint64_t SealSchedule::PeriodAt(int64_t time_us) const {
  if (time_us <= t0_us || period_us <= 0) return 0;
  return static_cast<uint64_t>((time_us - t0_us) / period_us);
}

int64_t SealSchedule::PeriodStartUs(uint64_t period) const {
  return t0_us + static_cast<int64_t>(period) * period_us;
}

Result<VerificationKey> GenerateVerificationKey(int64_t t0_us, int64_t period_us) {
  VerificationKey key;
  key.k0.resize(kSealKeyBytes);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.k0.data()), kSealKeyBytes) != 1) {
    return Status::IoError("no randomness for a seal key");
  }
  key.schedule = {t0_us, period_us};
  return key;
}

std::string FormatVerificationKey(const VerificationKey& key) {
  std::ostringstream out;
  out << kMagic << "\nkey_id " << key.key_id() << "\nk0 " << LowerHex(key.k0) << "\nt0_us "
      << key.schedule.t0_us << "\nperiod_us " << key.schedule.period_us << "\n";
  return out.str();
}

Result<VerificationKey> ParseVerificationKey(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  if (!std::getline(in, line) || line != kMagic) {
    return Status::InvalidArgument("not a trailkeep seal verification key (first line \"" +
                                   std::string(kMagic) + "\")");
  }
  VerificationKey key;
  std::string id;
  bool have_t0 = false;
  while (std::getline(in, line)) {
    const size_t sp = line.find(' ');
    if (line.empty() || line[0] == '#') continue;
    if (sp == std::string::npos) return Status::InvalidArgument("bad line: " + line);
    const std::string name = line.substr(0, sp);
    const std::string value = line.substr(sp + 1);
    if (name == "key_id") {
      id = value;
    } else if (name == "k0") {
      if (!ParseLowerHex(value, &key.k0) || key.k0.size() != kSealKeyBytes) {
        return Status::InvalidArgument("k0 must be 64 lower-case hex digits");
      }
    } else if (name == "t0_us" || name == "period_us") {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return Status::InvalidArgument(name + " must be a number");
      }
      (name == "t0_us" ? key.schedule.t0_us : key.schedule.period_us) = v;
      have_t0 = have_t0 || name == "t0_us";
    }
  }
  if (key.k0.empty() || !have_t0 || key.schedule.period_us <= 0) {
    return Status::InvalidArgument("a verification key needs k0, t0_us and period_us");
  }
  if (!id.empty() && id != key.key_id()) {
    return Status::InvalidArgument("key_id " + id + " does not match k0 (" + key.key_id() + ")");
  }
  return key;
}

Status WriteVerificationKeyFile(const std::string& path, const VerificationKey& key) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create " + path + ": " + std::strerror(errno));
  const std::string text = FormatVerificationKey(key);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return Status::IoError("cannot write " + path + ": " + std::strerror(err));
  return Status::Ok();
}

Result<VerificationKey> ReadVerificationKeyFile(const std::string& path) {
  auto text = ReadPrivateFile(path, /*require_private=*/false);
  if (!text.ok()) return text.status();
  auto key = ParseVerificationKey(text.value());
  if (!key.ok()) return Status::InvalidArgument(path + ": " + key.status().message());
  return key;
}

const std::string& SealKeyWalker::KeyOf(uint64_t period) {
  if (period < period_) {
    key_ = k0_;
    period_ = 0;
  }
  for (; period_ < period; ++period_) key_ = StepSealKey(key_);
  return key_;
}

}  // namespace trailkeep
