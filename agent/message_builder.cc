#include "agent/message_builder.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "common/base/time_format.h"
#include "common/syslog/rfc5424_writer.h"
#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::agent {
namespace {

constexpr int kHeartbeatPri = 5 * 8 + 6;  // syslog.info

// "type=SYSCALL msg=audit(1364481363.243:24287): ..." (maybe "node=X " first).
void ParseAuditLine(std::string_view line, std::string* type, int64_t* time_us) {
  size_t at = 0;
  if (line.substr(0, 5) == "node=") {
    const size_t sp = line.find(' ');
    at = sp == std::string_view::npos ? line.size() : sp + 1;
  }
  if (line.substr(at, 5) == "type=") {
    const size_t start = at + 5;
    const size_t end = line.find(' ', start);
    *type = std::string(line.substr(start, end == std::string_view::npos ? end : end - start));
  }
  const size_t a = line.find("audit(");
  if (a == std::string_view::npos) return;
  const char* p = line.data() + a + 6;
  const char* end = line.data() + line.size();
  uint64_t sec = 0, frac = 0;
  auto r = std::from_chars(p, end, sec);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return;
  const char* fs = r.ptr + 1;
  auto r2 = std::from_chars(fs, end, frac);
  if (r2.ec != std::errc() || r2.ptr == end || *r2.ptr != ':') return;
  int64_t digits = r2.ptr - fs;
  int64_t us = static_cast<int64_t>(frac);
  for (; digits < 6; ++digits) us *= 10;
  for (; digits > 6; --digits) us /= 10;
  *time_us = static_cast<int64_t>(sec) * 1000000 + us;
}

void AppendSdElement(std::string_view id, const v1::SdElement& el, std::string* out) {
  SdWriter sd(out);
  sd.Element(id);
  for (const auto& p : el.params()) sd.Param(p.name(), p.value());
  sd.Close();
}

}  // namespace

MessageParts PartsFromLine(std::string_view line, const LineSource& source, int64_t read_time_us) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  MessageParts parts;
  parts.input_name = std::string(source.input_name);
  parts.pri = source.facility * 8 + source.severity;
  parts.time_us = read_time_us;
  if (source.kind == InputKind::kAudit) {
    std::string type;
    ParseAuditLine(line, &type, &parts.time_us);
    parts.app_name = "auditd";
    parts.msgid = FitHeaderField(type, kMaxMsgidBytes);
    parts.msg = std::string(line);
    return parts;
  }
  v1::Event e;
  ParseSyslog(line, read_time_us, &e);
  if (e.pri() >= 0 && e.pri() <= 191) parts.pri = e.pri();
  if (e.event_time_us() != 0) parts.time_us = e.event_time_us();
  parts.app_name = FitHeaderField(e.app_name(), kMaxAppNameBytes);
  parts.procid = FitHeaderField(e.procid(), kMaxProcidBytes);
  parts.msgid = FitHeaderField(e.msgid(), kMaxMsgidBytes);
  for (const auto& el : e.structured_data()) {
    if (el.id().rfind("tk@", 0) == 0 || el.id().rfind("tkhb@", 0) == 0 ||
        el.id().rfind("tkin@", 0) == 0 || el.id().rfind("tkkey@", 0) == 0) {
      AppendSdElement("orig-" + el.id(), el, &parts.extra_sd);
    } else {
      AppendSdElement(el.id(), el, &parts.extra_sd);
    }
  }
  parts.msg = e.msg();
  return parts;
}

std::map<uint64_t, std::string> ParseIdFile(std::string_view text) {
  std::map<uint64_t, std::string> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    // name:password:id:...
    const size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    const size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const size_t c3 = line.find(':', c2 + 1);
    const std::string_view id_text =
        line.substr(c2 + 1, c3 == std::string_view::npos ? std::string_view::npos : c3 - c2 - 1);
    uint64_t id = 0;
    auto r = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (r.ec != std::errc() || r.ptr != id_text.data() + id_text.size()) continue;
    out.emplace(id, std::string(line.substr(0, c1)));
  }
  return out;
}

MessageParts InventoryParts(const std::map<uint64_t, std::string>& users,
                            const std::map<uint64_t, std::string>& groups, int64_t now_us) {
  nlohmann::json j;
  j["users"] = nlohmann::json::object();
  j["groups"] = nlohmann::json::object();
  for (const auto& [id, name] : users) j["users"][std::to_string(id)] = name;
  for (const auto& [id, name] : groups) j["groups"][std::to_string(id)] = name;
  MessageParts parts;
  parts.pri = 5 * 8 + 6;  // syslog.info
  parts.time_us = now_us;
  parts.app_name = "trailkeep";
  parts.msgid = "INVENTORY";
  parts.msg = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return parts;
}

MessageParts KeyRotatedParts(std::string_view new_key_id, std::string_view old_key_id,
                             int64_t now_us) {
  MessageParts parts;
  parts.pri = 5 * 8 + 5;  // syslog.notice
  parts.time_us = now_us;
  parts.app_name = "trailkeep";
  parts.msgid = "KEY_ROTATED";
  parts.msg =
      "HMAC key " + std::string(new_key_id) + " signs the chain from this event on" +
      (old_key_id.empty() ? std::string() : "; the previous key was " + std::string(old_key_id));
  return parts;
}

std::string FormatEventMessage(const MessageParts& parts, std::string_view hostname,
                               const ChainPosition& chain) {
  std::string m;
  m.reserve(160 + parts.extra_sd.size() + parts.msg.size());
  Rfc5424Writer w(&m, {parts.pri, FormatRfc3339Micros(parts.time_us), hostname, parts.app_name,
                       parts.procid, parts.msgid});
  // The chain element first: its m="" is the message's first (SignMessage).
  w.Serialized(FormatChainElement(chain.enterprise_number, chain.epoch, chain.seq, chain.prev_mac));
  if (!chain.key_id.empty()) w.Serialized(FormatKeyElement(chain.enterprise_number, chain.key_id));
  if (!parts.input_name.empty()) {
    w.Element("tkin@" + std::to_string(chain.enterprise_number)).Param("name", parts.input_name);
  }
  w.Serialized(parts.extra_sd);
  if (parts.msg.empty()) {
    w.End();
  } else {
    w.Msg(parts.msg);
  }
  return m;
}

std::string SignEvent(std::string_view key, const MessageParts& parts, std::string_view hostname,
                      const ChainPosition& chain, std::string* mac) {
  return SignMessage(key, FormatEventMessage(parts, hostname, chain), mac);
}

std::string SignHeartbeat(std::string_view key, std::string_view hostname,
                          uint32_t enterprise_number, uint64_t epoch, uint64_t head_seq,
                          std::string_view head_mac, int64_t now_us) {
  std::string m;
  Rfc5424Writer(
      &m, {kHeartbeatPri, FormatRfc3339Micros(now_us), hostname, "trailkeep", "-", "HEARTBEAT"})
      .Serialized(FormatHeartbeatElement(enterprise_number, epoch, head_seq, head_mac))
      .End();
  std::string mac;
  return SignMessage(key, m, &mac);
}

}  // namespace trailkeep::agent
