#include "common/ndcpp/default_rules_path.h"

#include <unistd.h>

namespace trailkeep::ndcpp {

std::string DefaultRulesPath() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  const std::string exe(buf, static_cast<size_t>(n));
  const size_t slash = exe.rfind('/');
  if (slash == std::string::npos) return "";
  return exe.substr(0, slash) + "/../share/trailkeep/ndcpp_rules.toml";
}

}  // namespace trailkeep::ndcpp
