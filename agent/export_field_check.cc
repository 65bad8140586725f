#include "agent/export_field_check.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/audit/audit_event.h"
#include "common/audit/audit_record.h"
#include "common/event/event_format.h"
#include "common/event/proto_utf8.h"
#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::agent {
namespace {

using json = nlohmann::json;

// Keys the collector derives from an event's raw bytes alone (given the
// receive time and enterprise number it exports): compared.
constexpr const char* kDerivedKeys[] = {"format",        "pri",
                                        "facility",      "severity",
                                        "version",       "timestamp",
                                        "event_time",    "event_time_inferred",
                                        "tz_offset_min", "hostname",
                                        "app_name",      "procid",
                                        "msgid",         "structured_data",
                                        "msg",           "msg_has_bom",
                                        "raw_b64",       "parse_error",
                                        "chain",         "audit",
                                        "audit_member",  "enterprise_number"};
// Keys the collector adds from outside the bytes: shown, not covered (the
// store seal covers them: `verify --seal-key`, agent/seal_export_check.h).
constexpr const char* kCollectorKeys[] = {
    "ingest_seq",        "receive_time",    "host", "peer",
    "transport",         "integrity",       "refs", "description",
    "hostname_mismatch", "sender_identity", "seal"};
// Of a grouped event's `audit`, the keys derived from the record lines.
constexpr const char* kAuditKeys[] = {"node", "serial", "time"};
constexpr const char* kAuditRecordKeys[] = {"type", "text", "chain_seq"};

std::string Show(const json* v) { return ShowExportedValue(v); }

// A key an older export may lack, and what its absence means.
const json* Optional(std::string_view key) {
  static const json kFalse = false, kNull = nullptr;
  if (key == "audit_member") return &kFalse;
  if (key == "audit") return &kNull;
  return nullptr;
}

const json* Find(const json& obj, const std::string& key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string Str(const json& obj, const char* key) {
  const json* v = Find(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// A non-negative integer (a JSON reader may type 5 as signed); 0 otherwise.
uint64_t U64(const json* v) {
  if (v == nullptr || !v->is_number_integer()) return 0;
  return v->is_number_unsigned() || v->get<int64_t>() >= 0 ? v->get<uint64_t>() : 0;
}

// Descends two differing arrays of one size, or objects with one key set,
// to their first differing member: returns its path suffix ("[2].params[0].value")
// and points *a and *b at it.
std::string Narrow(const json** a, const json** b) {
  const json &x = **a, &y = **b;
  if (x.is_array() && y.is_array() && x.size() == y.size()) {
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i] == y[i]) continue;
      *a = &x[i];
      *b = &y[i];
      return "[" + std::to_string(i) + "]" + Narrow(a, b);
    }
  }
  if (x.is_object() && y.is_object() && x.size() == y.size()) {
    for (const auto& [k, v] : x.items()) {
      const auto other = y.find(k);
      if (other == y.end()) return "";
      if (v == *other) continue;
      *a = &v;
      *b = &*other;
      return "." + k + Narrow(a, b);
    }
  }
  return "";
}

// Compares `field` of the export with the derived value.
void Compare(const std::string& where, const std::string& field, const json* exported,
             const json* derived, std::vector<FieldDiff>* diffs) {
  if (exported == nullptr) {
    const json* dflt = Optional(field);
    if (dflt != nullptr && derived != nullptr && *dflt == *derived) return;
    if (field == "enterprise_number") return;  // older export: 32473 assumed
  }
  if (exported != nullptr && derived != nullptr && *exported == *derived) return;
  if (exported == nullptr && derived == nullptr) return;
  std::string path = field;
  if (exported != nullptr && derived != nullptr) path += Narrow(&exported, &derived);
  diffs->push_back({where, path, Show(exported), "signed message", Show(derived)});
}

std::string Where(uint64_t epoch, uint64_t seq) {
  return "epoch=" + std::to_string(epoch) + " seq=" + std::to_string(seq);
}

std::vector<std::string_view> Lines(std::string_view raw) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (true) {
    const size_t lf = raw.find('\n', at);
    out.push_back(raw.substr(at, lf == raw.npos ? raw.npos : lf - at));
    if (lf == raw.npos) return out;
    at = lf + 1;
  }
}

}  // namespace

void NormaliseAsStored(v1::Event* event) {
  // Store::Commit escapes invalid UTF-8 in every string field ("\xHH").
  MakeStringsValidUtf8(event);
}

ExportFieldCheck::ExportFieldCheck(std::string key) : key_(std::move(key)) {}

ExportFieldCheck::Digest ExportFieldCheck::DigestOf(std::string_view text) const {
  // Keyed, so no one can make another record with the same digest.
  const std::string mac = HmacSha256(key_, text);
  Digest d;
  std::memcpy(d.data(), mac.data(), d.size());
  return d;
}

void ExportFieldCheck::NoteKeys(const json& event) {
  for (const auto& [k, v] : event.items()) {
    const auto known = [&k = k](const auto& list) {
      return std::any_of(std::begin(list), std::end(list), [&](const char* n) { return k == n; });
    };
    if (!known(kDerivedKeys) && !known(kCollectorKeys)) coverage_.unknown_keys.insert(k);
  }
}

std::string ShowExportedValue(const json* v) {
  constexpr size_t kShownMax = 160;
  if (v == nullptr) return "(absent)";
  std::string s = v->dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > kShownMax) s = s.substr(0, kShownMax) + "...";
  return s;
}

ExportFieldCheck::Kind ExportFieldCheck::Check(const json& event, const std::string& raw,
                                               uint64_t line, std::vector<FieldDiff>* diffs) {
  const json* audit = Find(event, "audit");
  if (audit != nullptr && audit->is_object()) {
    NoteKeys(event);
    CheckGrouped(event, raw, diffs);
    return Kind::kGrouped;
  }
  return CheckChained(event, raw, line, diffs);
}

ExportFieldCheck::Kind ExportFieldCheck::CheckChained(const json& event, const std::string& raw,
                                                      uint64_t line,
                                                      std::vector<FieldDiff>* diffs) {
  // The collector's inputs besides the bytes.
  int64_t receive_us = 0;
  int offset = 0;
  const bool time_ok = ParseRfc3339(Str(event, "receive_time"), &receive_us, &offset);
  const json* pen_value = Find(event, "enterprise_number");
  uint32_t pen = kDefaultEnterpriseNumber;
  if (const uint64_t n = U64(pen_value); n != 0 && n <= UINT32_MAX) pen = static_cast<uint32_t>(n);

  v1::Event e;
  ParseSyslog(raw, receive_us, &e);
  const ChainFields f = ApplyChainElement(pen, &e);
  const json* chain = Find(event, "chain");
  const bool exported_chain = chain != nullptr && !chain->is_null();
  if (f.kind == ChainKind::kNone && !exported_chain) return Kind::kUnsigned;

  NoteKeys(event);
  ++coverage_.events;
  if (e.event_time_inferred()) ++coverage_.time_inferred;
  const std::string where = f.kind != ChainKind::kNone ? Where(f.link.epoch, f.link.seq)
                                                       : Where(0, U64(Find(*chain, "s"))) +
                                                             " (no chain element in raw_b64)";
  if (!time_ok) {
    diffs->push_back({where, "receive_time", Show(Find(event, "receive_time")), "parser's input",
                      "\"an RFC 3339 time\""});
  }
  if (pen_value != nullptr && !pen_value->is_null() && pen != U64(pen_value)) {
    diffs->push_back({where, "enterprise_number", Show(pen_value), "parser's input",
                      "\"a number from 1 to 4294967295\""});
  }

  // audit_member also depends on the channel (unsigned inputs, as exported).
  e.set_transport(Str(event, "transport") == "audit-port60" ? v1::TRANSPORT_AUDIT_PORT60
                                                            : v1::TRANSPORT_TLS_SYSLOG);
  if (const json* peer = Find(event, "peer")) {
    e.mutable_peer()->set_bound_host(Str(*peer, "bound_host"));
  }
  if (audit::IsChannelAuditRecord(e)) e.set_audit_member(true);
  e.set_receive_time_us(receive_us);
  e.set_raw(raw);
  NormaliseAsStored(&e);

  const json want = json::parse(EventToJson(e));
  for (const char* key : kDerivedKeys) {
    Compare(where, key, Find(event, key), Find(want, key), diffs);
  }
  // The pipeline files an agent's events under HOSTNAME (the channel's bound
  // host must equal it); without one, `host` is the channel's choice.
  const json* hostname = Find(want, "hostname");
  if (hostname != nullptr && hostname->is_string() && !hostname->get<std::string>().empty()) {
    const json* host = Find(event, "host");
    if (host == nullptr || *host != *hostname) {
      diffs->push_back({where, "host", Show(host), "signed HOSTNAME", Show(hostname)});
    }
  } else {
    ++coverage_.host_unsigned;
  }

  // An authentic member: its record text may be claimed by a grouped event.
  if (f.kind == ChainKind::kEvent) lowest_seq_ = std::min(lowest_seq_, f.link.seq);
  const auto authentic = [&] {
    if (VerifyMessageMac(key_, raw, f)) return true;
    return std::any_of(other_keys_.begin(), other_keys_.end(),
                       [&](const std::string& k) { return VerifyMessageMac(k, raw, f); });
  };
  if (e.audit_member() && f.kind == ChainKind::kEvent && authentic()) {
    members_[f.link.seq].push_back({DigestOf(e.msg()), line});
  }
  return Kind::kChained;
}

void ExportFieldCheck::CheckGrouped(const json& event, const std::string& raw,
                                    std::vector<FieldDiff>* diffs) {
  ++coverage_.groups;
  const json& a = event["audit"];
  const std::string where =
      "audit node=" + Str(a, "node") + " serial=" + std::to_string(U64(Find(a, "serial")));
  static const json kNone = json::array();
  const json* exported_records = Find(a, "records");
  const json& records =
      exported_records != nullptr && exported_records->is_array() ? *exported_records : kNone;
  const std::vector<std::string_view> lines = Lines(raw);
  if (records.size() != lines.size()) {
    diffs->push_back({where, "audit.records", "\"" + std::to_string(records.size()) + " records\"",
                      "raw_b64", "\"" + std::to_string(lines.size()) + " record lines\""});
  }
  const size_t n = std::min(records.size(), lines.size());

  // The group as the grouper held it: the record lines, in order, with the
  // chain seqs the export names (each checked against its member below).
  audit::AuditGroup g;
  g.host = Str(event, "host");
  g.complete = Find(a, "complete") != nullptr && a["complete"] == true;  // not covered
  for (size_t i = 0; i < lines.size(); ++i) {
    audit::AuditRecord r;
    if (g.records.empty() && audit::ParseAuditRecord(lines[i], &r)) {
      g.node = std::string(r.node);
      g.serial = r.serial;
    }
    g.records.push_back({std::string(lines[i]), i < n ? U64(Find(records[i], "chain_seq")) : 0});
  }
  v1::Event e;
  // A node without node= in the records is named by name_format: not covered.
  audit::BuildAuditEvent(g, nullptr, Str(a, "node"), &e);
  NormaliseAsStored(&e);
  const json want = json::parse(EventToJson(e));

  for (const char* key : kDerivedKeys) {
    if (std::string_view(key) != "audit")
      Compare(where, key, Find(event, key), Find(want, key), diffs);
  }
  const json& wa = want["audit"];
  for (const char* key : kAuditKeys) {
    Compare(where, std::string("audit.") + key, Find(a, key), Find(wa, key), diffs);
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string at = "audit.records[" + std::to_string(i) + "].";
    for (const char* key : kAuditRecordKeys) {
      Compare(where, at + key, Find(records[i], key), Find(wa["records"][i], key), diffs);
    }
    // The record must be the one its member event signed. Members are
    // committed before their group, so a seq the export covers (not below
    // its lowest) must name an authenticated member seen already.
    const uint64_t seq = g.records[i].chain_seq;
    if (seq == 0 || seq < lowest_seq_) {
      ++coverage_.records_unmatched;  // no chain (port 60), or before the export
      continue;
    }
    const std::string claim =
        "chain_seq=" + std::to_string(seq) + " " + Show(Find(records[i], "text"));
    const auto found = members_.find(seq);
    if (found == members_.end()) {
      diffs->push_back({where, at.substr(0, at.size() - 1), claim, "signed members",
                        "\"(no audit member event with this seq)\""});
      continue;
    }
    const Digest mac = DigestOf(lines[i]);
    const auto& candidates = found->second;
    if (std::any_of(candidates.begin(), candidates.end(),
                    [&](const Member& m) { return m.text == mac; })) {
      ++coverage_.records_matched;
    } else {
      diffs->push_back({where, at.substr(0, at.size() - 1), claim,
                        "member event of line " + std::to_string(candidates.front().line),
                        "\"(another record)\""});
    }
  }
}

}  // namespace trailkeep::agent
