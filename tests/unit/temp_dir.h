// TempDir: a fresh folder under $TMPDIR for one test, removed with everything
// in it when the object goes away.
#pragma once

#include <filesystem>
#include <string>

#include <stdlib.h>

namespace trailkeep::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "tk-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace trailkeep::testing
