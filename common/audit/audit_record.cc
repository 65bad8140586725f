#include "common/audit/audit_record.h"

#include <array>
#include <charconv>

namespace trailkeep::audit {
namespace {

// The value of `key=` at the start of `s` (unquoted, up to a space).
bool TakePrefixedToken(std::string_view* s, std::string_view key, std::string_view* value) {
  if (s->substr(0, key.size()) != key) return false;
  s->remove_prefix(key.size());
  const size_t end = s->find(' ');
  *value = s->substr(0, end);
  s->remove_prefix(end == std::string_view::npos ? s->size() : end + 1);
  return !value->empty();
}

}  // namespace

bool ParseAuditRecord(std::string_view line, AuditRecord* out) {
  *out = AuditRecord{};
  out->text = line;
  std::string_view s = line;
  TakePrefixedToken(&s, "node=", &out->node);  // name_format puts node= first
  if (!TakePrefixedToken(&s, "type=", &out->type)) return false;
  constexpr std::string_view kMsg = "msg=audit(";
  if (s.substr(0, kMsg.size()) != kMsg) return false;
  s.remove_prefix(kMsg.size());
  const size_t close = s.find(')');
  const size_t colon = s.substr(0, close).rfind(':');
  if (close == std::string_view::npos || colon == std::string_view::npos) return false;
  out->time = s.substr(0, colon);
  const std::string_view serial = s.substr(colon + 1, close - colon - 1);
  const auto [ptr, ec] = std::from_chars(serial.data(), serial.data() + serial.size(), out->serial);
  if (ec != std::errc() || ptr != serial.data() + serial.size() || out->time.empty()) return false;
  s.remove_prefix(close + 1);
  if (!s.empty() && s.front() == ':') s.remove_prefix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  out->body = s;
  return true;
}

void ForEachAuditField(std::string_view body,
                       const std::function<void(const AuditFieldView&)>& fn) {
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && body[i] == ' ') ++i;
    const size_t eq = body.find('=', i);
    if (eq == std::string_view::npos) return;
    AuditFieldView f;
    f.key = body.substr(i, eq - i);
    size_t v = eq + 1;
    if (v < body.size() && (body[v] == '"' || body[v] == '\'')) {
      const char q = body[v];
      const size_t end = body.find(q, v + 1);
      const size_t stop = end == std::string_view::npos ? body.size() : end;
      f.value = body.substr(v + 1, stop - v - 1);
      f.quoted = true;
      i = stop + 1;
      // A user message's payload: its fields are the record's fields.
      if (q == '\'' && f.key == "msg") {
        ForEachAuditField(f.value, fn);
        continue;
      }
    } else {
      const size_t end = body.find(' ', v);
      const size_t stop = end == std::string_view::npos ? body.size() : end;
      f.value = body.substr(v, stop - v);
      i = stop;
    }
    if (f.key.find(' ') == std::string_view::npos) fn(f);
  }
}

bool IsSingleRecordType(std::string_view type) {
  // auditd's user-space message families (libaudit's 1100-1299 and 2100-2999
  // ranges), which audit_log_user_message() writes as one record.
  static constexpr std::array<std::string_view, 14> kPrefixes = {
      "USER_", "CRED_", "CRYPTO_", "DAEMON_", "SERVICE_", "SYSTEM_", "ACCT_",
      "ADD_",  "DEL_",  "GRP_",    "CHGRP_",  "CHUSER_",  "ROLE_",   "SOFTWARE_UPDATE"};
  for (std::string_view p : kPrefixes) {
    if (type.substr(0, p.size()) == p) return true;
  }
  return false;
}

}  // namespace trailkeep::audit
