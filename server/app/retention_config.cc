#include "server/app/retention_config.h"

#include <string>
#include <vector>

namespace trailkeep {

namespace {

// "180d", "forever", ...: into *out; an error on any other text.
void ReadRetentionValue(const toml::table& t, const std::string& prefix, TomlReader* r,
                        int64_t* out) {
  std::string text;
  r->String(t, prefix, "retention", &text);
  if (t.get("retention") == nullptr || !t.get("retention")->is_string()) return;
  if (auto us = ParseRetention(text)) {
    *out = *us;
  } else {
    r->Error(t.get("retention"), prefix +
                                     "retention must be a duration such as \"180d\", "
                                     "\"12h\", \"30m\", \"45s\", \"2w\" or \"forever\", "
                                     "not \"" +
                                     text + "\"");
  }
}

}  // namespace

void ReadRetentionConfig(const toml::table& t, TomlReader* r, RetentionPolicy* policy) {
  ReadRetentionValue(t, "store.", r, &policy->default_us);
  r->Seen("store.", "retention_override");
  const toml::node* on = t.get("retention_override");
  if (on == nullptr) return;
  const toml::array* arr = on->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    r->Error(on,
             "store.retention_override must be an array of tables: "
             "[[store.retention_override]]");
    return;
  }
  const std::string prefix = "store.retention_override.";
  for (const toml::node& n : *arr) {
    const toml::table& ot = *n.as_table();
    std::vector<std::string> hosts;
    int64_t keep = -1;
    r->StringList(ot, prefix, "hosts", &hosts);
    ReadRetentionValue(ot, prefix, r, &keep);
    r->Unknown(ot, prefix);
    if (hosts.empty() || ot.get("retention") == nullptr) {
      r->Error(&n, "[[store.retention_override]] needs hosts = [\"GLOB\", ...] and retention");
      continue;
    }
    if (keep < 0) continue;  // reported
    for (auto& h : hosts) policy->overrides.emplace_back(std::move(h), keep);
  }
}

}  // namespace trailkeep
