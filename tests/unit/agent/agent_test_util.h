// Helpers for the agent's unit tests: a temporary directory removed at the
// end of the test, and small file utilities.
#pragma once

#include <cstdint>
#include <string>

namespace trailkeep::agent::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path);
void WriteAll(const std::string& path, const std::string& data);  // truncates
void AppendTo(const std::string& path, const std::string& data);
uint64_t FileSize(const std::string& path);

}  // namespace trailkeep::agent::testing
