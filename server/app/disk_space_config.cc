#include "server/app/disk_space_config.h"

#include <string>

namespace trailkeep {
namespace {

// A size key ("256MiB", "5%", "0"): into *out; an error on anything else.
void ReadSize(const toml::table& t, TomlReader* r, const char* key, DiskSize* out) {
  std::string text;
  r->String(t, "store.", key, &text);
  const toml::node* n = t.get(key);
  if (n == nullptr || !n->is_string()) return;
  std::string why;
  if (!ParseDiskSize(text, out, &why)) r->Error(n, std::string("store.") + key + ": " + why);
}

}  // namespace

void ReadDiskSpaceConfig(const toml::table& t, TomlReader* r, DiskSpaceConfig* config) {
  if (t.get("space_warning_mb") != nullptr && t.get("space_left") != nullptr) {
    r->Error(t.get("space_warning_mb"),
             "store.space_warning_mb is the older name of store.space_left: give only "
             "space_left (\"256MiB\")");
  }
  int64_t mb = -1;
  r->Integer(t, "store.", "space_warning_mb", &mb, 0, int64_t{1} << 30);
  if (mb >= 0) config->space_left = DiskSize{static_cast<uint64_t>(mb) << 20, -1};
  ReadSize(t, r, "space_left", &config->space_left);
  ReadSize(t, r, "admin_space_left", &config->admin_space_left);
  ReadSize(t, r, "reserve", &config->reserve);
  std::string action;
  r->String(t, "store.", "disk_full_action", &action);
  if (t.get("disk_full_action") != nullptr && t.get("disk_full_action")->is_string() &&
      !ParseDiskFullAction(action, &config->action)) {
    r->Error(t.get("disk_full_action"),
             "store.disk_full_action must be one of block, halt, rotate, not \"" + action + "\"");
  }
  // Levels of one kind compare here, with their lines; percentages against
  // sizes only once the file system is known (server start-up).
  const DiskSize* sizes[] = {&config->space_left, &config->admin_space_left, &config->reserve};
  bool all_bytes = true;
  for (const DiskSize* s : sizes) all_bytes = all_bytes && s->percent < 0;
  if (all_bytes) {
    const std::string why = CheckDiskLevels(ResolveDiskLevels(*config, 0));
    if (!why.empty()) {
      const toml::node* at = t.get("admin_space_left");
      r->Error(at != nullptr ? at : static_cast<const toml::node*>(&t), why);
    }
  }
}

}  // namespace trailkeep
