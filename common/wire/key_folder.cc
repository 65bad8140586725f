#include "common/wire/key_folder.h"

#include <algorithm>
#include <filesystem>

#include "common/wire/hmac_chain.h"

namespace trailkeep {

std::string CurrentKeyPath(const std::string& keys_dir, const std::string& host) {
  return keys_dir + "/" + host + ".key";
}

std::string RetiredKeyDir(const std::string& keys_dir, const std::string& host) {
  return keys_dir + "/" + host + ".retired";
}

std::string RetiredKeyPath(const std::string& keys_dir, const std::string& host,
                           const std::string& id) {
  return RetiredKeyDir(keys_dir, host) + "/" + id + ".key";
}

HostKeys LoadHostKeys(const std::string& keys_dir, const std::string& host) {
  namespace fs = std::filesystem;
  HostKeys out;
  auto current = LoadHmacKey(CurrentKeyPath(keys_dir, host));
  if (current.ok()) {
    out.has_current = true;
    const std::string& key = current.value();
    out.keys.push_back({KeyId(key), key, std::make_shared<const HmacSha256Key>(key)});
  } else {
    out.current_problem = current.status().message();
  }
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(RetiredKeyDir(keys_dir, host), ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 4 && name.ends_with(".key")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());  // a stable order for the logs
  for (const auto& name : names) {
    const std::string id = name.substr(0, name.size() - 4);
    const std::string path = RetiredKeyPath(keys_dir, host, id);
    auto key = LoadHmacKey(path);
    if (!key.ok()) {
      out.problems.push_back(key.status().message());
      continue;
    }
    const std::string actual = KeyId(key.value());
    if (actual != id) {
      out.problems.push_back(path + " holds key " + actual + ", not " + id + ": skipped");
      continue;
    }
    const bool seen = std::any_of(out.keys.begin(), out.keys.end(),
                                  [&](const HostKey& k) { return k.id == actual; });
    if (!seen) {
      out.keys.push_back({actual, key.value(), std::make_shared<const HmacSha256Key>(key.value())});
    }
  }
  return out;
}

}  // namespace trailkeep
