#include "common/event/event_format.h"

#include <nlohmann/json.hpp>

#include "common/base/bytes.h"
#include "common/base/time_format.h"
#include "common/event/seal_proof.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using json = nlohmann::ordered_json;

// Replaces control characters other than TAB so one event stays one line.
std::string OneLine(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c == '\n' || c == '\r') {
      out += "\\n";
    } else if (c < 0x20 && c != '\t') {
      out += '?';
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

constexpr auto kLossy = nlohmann::json::error_handler_t::replace;

}  // namespace

const char* FacilityName(int f) {
  static constexpr const char* kNames[] = {
      "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
      "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
      "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7"};
  return f >= 0 && f < 24 ? kNames[f] : "";
}

const char* SeverityName(int s) {
  static constexpr const char* kNames[] = {"emerg",   "alert",  "crit", "err",
                                           "warning", "notice", "info", "debug"};
  return s >= 0 && s < 8 ? kNames[s] : "";
}

const char* TransportName(int t) {
  switch (t) {
    case v1::TRANSPORT_TLS_SYSLOG:
      return "tls-syslog";
    case v1::TRANSPORT_AUDIT_PORT60:
      return "audit-port60";
    case v1::TRANSPORT_SELF:
      return "self";
    case v1::TRANSPORT_UDP_SYSLOG:
      return "udp-syslog";
    case v1::TRANSPORT_TCP_SYSLOG:
      return "tcp-syslog";
    default:
      return "unknown";
  }
}

const char* FormatName(int f) {
  switch (f) {
    case v1::FORMAT_RFC5424:
      return "rfc5424";
    case v1::FORMAT_RFC3164:
      return "rfc3164";
    case v1::FORMAT_UNPARSED:
      return "unparsed";
    case v1::FORMAT_INTERNAL:
      return "internal";
    default:
      return "unknown";
  }
}

const char* IntegrityName(int i) {
  switch (i) {
    case v1::INTEGRITY_UNSIGNED:
      return "unsigned";
    case v1::INTEGRITY_VERIFIED:
      return "verified";
    case v1::INTEGRITY_AFTER_GAP:
      return "after_gap";
    case v1::INTEGRITY_BAD_MAC:
      return "bad_mac";
    case v1::INTEGRITY_NO_KEY:
      return "no_key";
    case v1::INTEGRITY_REPLAY:
      return "replay";
    default:
      return "unknown";
  }
}

namespace {

// The grouped audit event: records as sent, each with its interpreted fields
// ({"name", "raw", "value", "unresolved"}).
json AuditToJson(const v1::AuditEvent& a) {
  json records = json::array();
  for (const auto& r : a.records()) {
    json fields = json::array();
    for (const auto& f : r.fields()) {
      fields.push_back({{"name", f.name()},
                        {"raw", f.raw()},
                        {"value", f.value()},
                        {"unresolved", f.unresolved()}});
    }
    records.push_back({{"type", r.type()},
                       {"text", r.text()},
                       {"chain_seq", r.chain_seq()},
                       {"fields", std::move(fields)}});
  }
  return {{"node", a.node()},
          {"serial", a.serial()},
          {"time", a.time()},
          {"complete", a.complete()},
          {"identity_map", a.identity_map()},
          {"records", std::move(records)}};
}

// The seal element; a u64 period or seq fits a JSON number exactly up to 2^53,
// far beyond a chain's length or a period's index.
json SealToJson(const v1::Event& e, bool seal_proof) {
  if (!e.has_seal()) return nullptr;
  const v1::SealElement& s = e.seal();
  json j = {
      {"chain", s.chain()}, {"period", s.period()}, {"seq", s.seq()}, {"mac", LowerHex(s.mac())}};
  if (seal_proof) j["stored_b64"] = Base64Encode(SealProofBytes(e));
  return j;
}

}  // namespace

std::string EventToJson(const v1::Event& e, bool seal_proof) {
  json j;
  j["ingest_seq"] = e.ingest_seq();
  j["receive_time"] = FormatRfc3339Micros(e.receive_time_us());
  j["host"] = e.host();
  const v1::Peer& p = e.peer();
  j["peer"] = {{"address", p.address()},
               {"authenticated", p.authenticated()},
               {"cert_subject", p.cert_subject()},
               {"cert_common_name", p.cert_common_name()},
               {"cert_sha256", p.cert_sha256()},
               {"cert_dns_names", json(std::vector<std::string>(p.cert_dns_names().begin(),
                                                                p.cert_dns_names().end()))},
               {"listener", p.listener()},
               {"bound_host", p.bound_host()},
               {"tunnel", p.tunnel()}};
  j["transport"] = TransportName(e.transport());
  j["format"] = FormatName(e.format());
  if (e.pri() >= 0) {
    j["pri"] = e.pri();
    j["facility"] = FacilityName(e.pri() / 8);
    j["severity"] = SeverityName(e.pri() % 8);
  } else {
    j["pri"] = nullptr;
    j["facility"] = nullptr;
    j["severity"] = nullptr;
  }
  j["version"] = e.version();
  j["timestamp"] = e.timestamp_text();
  j["event_time"] = FormatRfc3339Micros(e.event_time_us());
  j["event_time_inferred"] = e.event_time_inferred();
  j["tz_offset_min"] = e.event_tz_offset_min();
  j["hostname"] = e.hostname();
  j["app_name"] = e.app_name();
  j["procid"] = e.procid();
  j["msgid"] = e.msgid();
  json sd = json::array();
  for (const auto& el : e.structured_data()) {
    json params = json::array();
    for (const auto& prm : el.params())
      params.push_back({{"name", prm.name()}, {"value", prm.value()}});
    sd.push_back({{"id", el.id()}, {"params", std::move(params)}});
  }
  j["structured_data"] = std::move(sd);
  j["msg"] = e.msg();
  j["msg_has_bom"] = e.msg_has_bom();
  j["raw_b64"] = Base64Encode(e.raw());
  j["parse_error"] = e.parse_error();
  j["integrity"] = IntegrityName(e.integrity());
  j["refs"] = json(std::vector<std::string>(e.ndcpp_refs().begin(), e.ndcpp_refs().end()));
  j["description"] = e.description();
  j["hostname_mismatch"] = e.hostname_mismatch();
  j["sender_identity"] = e.sender_identity();
  if (e.chain_epoch() != 0 || e.chain_seq() != 0) {
    j["chain"] = {{"e", std::to_string(e.chain_epoch())},
                  {"s", e.chain_seq()},
                  {"p", LowerHex(e.chain_prev_mac())},
                  {"m", LowerHex(e.chain_mac())}};
  } else {
    j["chain"] = nullptr;
  }
  j["audit"] = e.has_audit() ? AuditToJson(e.audit()) : json(nullptr);
  j["enterprise_number"] = e.enterprise_number() != 0 ? json(e.enterprise_number()) : json(nullptr);
  if (e.audit_member()) j["audit_member"] = true;
  j["seal"] = SealToJson(e, seal_proof);
  return j.dump(-1, ' ', false, kLossy);
}

std::string EventToText(const v1::Event& e) {
  std::string line = FormatRfc3339Micros(e.receive_time_us());
  line += ' ';
  line += e.host().empty() ? "-" : e.host();
  line += ' ';
  line += e.app_name().empty() ? "-" : e.app_name();
  if (!e.procid().empty()) line += "[" + e.procid() + "]";
  if (e.pri() >= 0) {
    line += " <";
    line += FacilityName(e.pri() / 8);
    line += '.';
    line += SeverityName(e.pri() % 8);
    line += '>';
  }
  if (e.ndcpp_refs_size() > 0) {
    line += " [";
    for (int i = 0; i < e.ndcpp_refs_size(); ++i) {
      if (i > 0) line += ',';
      line += e.ndcpp_refs(i);
    }
    line += ']';
  }
  // Integrity mark: '=' verified, '~' unsigned, '!' bad MAC or replay, '+'
  // first after a gap, '?' chained but no key.
  switch (e.integrity()) {
    case v1::INTEGRITY_VERIFIED:
      line += " =";
      break;
    case v1::INTEGRITY_NO_KEY:
      line += " ?";
      break;
    case v1::INTEGRITY_REPLAY:
    case v1::INTEGRITY_BAD_MAC:
      line += " !";
      break;
    case v1::INTEGRITY_AFTER_GAP:
      line += " +";
      break;
    default:
      line += " ~";
      break;
  }
  line += ' ';
  line += OneLine(e.msg());
  // Round-trip through the JSON library's lossy UTF-8 handling is not needed
  // here: terminals render invalid bytes themselves.
  return line;
}

std::string TunnelSummaryLine(const std::string& state, const std::string& since,
                              uint64_t events_received, const std::string& last_error) {
  std::string out =
      state + " since " + since + ", " + std::to_string(events_received) + " records received";
  if (state == "retrying") out += ": " + last_error;
  return out;
}

const char* TunnelStateName(int state) {
  switch (state) {
    case v1::TunnelState::STATE_UP:
      return "up";
    case v1::TunnelState::STATE_RETRYING:
      return "retrying";
    case v1::TunnelState::STATE_STOPPED:
      return "stopped";
    default:
      return "unknown";
  }
}

int64_t OldestKeptUs(const v1::HostState& h) {
  if (h.events() == h.expired_events()) return 0;
  return h.oldest_kept_us() != 0 ? h.oldest_kept_us() : h.first_seen_us();
}

std::string HostStateToJson(const v1::HostState& h) {
  json j = {{"host", h.name()},
            {"id", h.id()},
            {"events", h.events()},
            {"bytes", h.bytes()},
            {"unauthenticated_events", h.unauthenticated_events()},
            {"first_seen", FormatRfc3339Micros(h.first_seen_us())},
            {"last_seen", FormatRfc3339Micros(h.last_seen_us())},
            {"oldest_kept", OldestKeptUs(h) != 0 ? FormatRfc3339Micros(OldestKeptUs(h)) : ""},
            {"last_ingest_seq", h.last_ingest_seq()},
            {"last_peer", h.last_peer()},
            {"last_transport", TransportName(h.last_transport())}};
  if (h.chain_epoch() != 0) {
    j["chain"] = {{"epoch", std::to_string(h.chain_epoch())},
                  {"contiguous_seq", h.contiguous_seq()},
                  {"highest_seq", h.highest_seq()},
                  {"head_mac", LowerHex(h.chain_head_mac())},
                  {"agent_head_seq", h.agent_head_seq()},
                  {"last_heartbeat",
                   h.last_heartbeat_us() != 0 ? FormatRfc3339Micros(h.last_heartbeat_us()) : ""},
                  {"duplicates_dropped", h.duplicates_dropped()},
                  {"integrity_alarms", h.integrity_alarms()},
                  {"unauthentic_ahead", h.unauthentic_ahead_size()}};
  }
  if (h.retention_cut_us() != 0) {
    j["retention"] = {
        {"cut", FormatRfc3339Micros(h.retention_cut_us())},
        {"expired_events", h.expired_events()},
        {"expired_through_seq", h.expired_through_seq()},
        {"chain_epoch", std::to_string(h.cut_chain_epoch())},
        {"chain_seq", h.cut_chain_seq()},
        {"reason", h.retention_cut_reason().empty() ? "retention" : h.retention_cut_reason()},
        {"early", !h.retention_cut_reason().empty()},
        {"early_expired_events", h.early_expired_events()}};
  }
  if (h.has_tunnel()) {
    const v1::TunnelState& t = h.tunnel();
    auto time = [](int64_t us) { return us != 0 ? FormatRfc3339Micros(us) : std::string(); };
    j["tunnel"] = {{"state", TunnelStateName(t.state())},
                   {"since", time(t.since_us())},
                   {"endpoint", t.endpoint()},
                   {"remote_bind", t.remote_bind()},
                   {"last_error", t.last_error()},
                   {"last_error_time", time(t.last_error_us())},
                   {"events_received", t.events_received()},
                   {"sessions", t.sessions()},
                   {"failures", t.failures()},
                   {"consecutive_failures", t.consecutive_failures()},
                   {"next_attempt", time(t.next_attempt_us())}};
  }
  return j.dump(-1, ' ', false, kLossy);
}

}  // namespace trailkeep
