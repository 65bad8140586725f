#include "common/event/event_format.h"

#include <nlohmann/json.hpp>

#include "common/base/bytes.h"
#include "common/base/time_format.h"
#include "common/event/json_writer.h"
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
void WriteAudit(const v1::AuditEvent& a, JsonWriter& w) {
  w.BeginObject();
  w.Key("node");
  w.String(a.node());
  w.Key("serial");
  w.Uint(a.serial());
  w.Key("time");
  w.String(a.time());
  w.Key("complete");
  w.Bool(a.complete());
  w.Key("identity_map");
  w.Bool(a.identity_map());
  w.Key("records");
  w.BeginArray();
  for (const auto& r : a.records()) {
    w.BeginObject();
    w.Key("type");
    w.String(r.type());
    w.Key("text");
    w.String(r.text());
    w.Key("chain_seq");
    w.Uint(r.chain_seq());
    w.Key("fields");
    w.BeginArray();
    for (const auto& f : r.fields()) {
      w.BeginObject();
      w.Key("name");
      w.String(f.name());
      w.Key("raw");
      w.String(f.raw());
      w.Key("value");
      w.String(f.value());
      w.Key("unresolved");
      w.Bool(f.unresolved());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

// The seal element; a u64 period or seq fits a JSON number exactly up to 2^53,
// far beyond a chain's length or a period's index.
void WriteSeal(const v1::Event& e, bool seal_proof, JsonWriter& w) {
  if (!e.has_seal()) {
    w.Null();
    return;
  }
  const v1::SealElement& s = e.seal();
  w.BeginObject();
  w.Key("chain");
  w.Uint(s.chain());
  w.Key("period");
  w.Uint(s.period());
  w.Key("seq");
  w.Uint(s.seq());
  w.Key("mac");
  w.String(LowerHex(s.mac()));
  if (seal_proof) {
    w.Key("stored_b64");
    w.String(Base64Encode(SealProofBytes(e)));
  }
  w.EndObject();
}

template <typename Strings>
void WriteStrings(const Strings& strings, JsonWriter& w) {
  w.BeginArray();
  for (const auto& s : strings) w.String(s);
  w.EndArray();
}

}  // namespace

void AppendEventJson(const v1::Event& e, bool seal_proof, std::string* out) {
  // Room for the members' names and fixed parts; the text fields on top.
  out->reserve(out->size() + 1024 + 2 * (e.msg().size() + e.raw().size()));
  JsonWriter w(out);
  w.BeginObject();
  w.Key("ingest_seq");
  w.Uint(e.ingest_seq());
  w.Key("receive_time");
  w.String(FormatRfc3339Micros(e.receive_time_us()));
  w.Key("host");
  w.String(e.host());
  const v1::Peer& p = e.peer();
  w.Key("peer");
  w.BeginObject();
  w.Key("address");
  w.String(p.address());
  w.Key("authenticated");
  w.Bool(p.authenticated());
  w.Key("cert_subject");
  w.String(p.cert_subject());
  w.Key("cert_common_name");
  w.String(p.cert_common_name());
  w.Key("cert_sha256");
  w.String(p.cert_sha256());
  w.Key("cert_dns_names");
  WriteStrings(p.cert_dns_names(), w);
  w.Key("listener");
  w.String(p.listener());
  w.Key("bound_host");
  w.String(p.bound_host());
  w.Key("tunnel");
  w.String(p.tunnel());
  w.EndObject();
  w.Key("transport");
  w.String(TransportName(e.transport()));
  w.Key("format");
  w.String(FormatName(e.format()));
  if (e.pri() >= 0) {
    w.Key("pri");
    w.Int(e.pri());
    w.Key("facility");
    w.String(FacilityName(e.pri() / 8));
    w.Key("severity");
    w.String(SeverityName(e.pri() % 8));
  } else {
    w.Key("pri");
    w.Null();
    w.Key("facility");
    w.Null();
    w.Key("severity");
    w.Null();
  }
  w.Key("version");
  w.Int(e.version());
  w.Key("timestamp");
  w.String(e.timestamp_text());
  w.Key("event_time");
  w.String(FormatRfc3339Micros(e.event_time_us()));
  w.Key("event_time_inferred");
  w.Bool(e.event_time_inferred());
  w.Key("tz_offset_min");
  w.Int(e.event_tz_offset_min());
  w.Key("hostname");
  w.String(e.hostname());
  w.Key("app_name");
  w.String(e.app_name());
  w.Key("procid");
  w.String(e.procid());
  w.Key("msgid");
  w.String(e.msgid());
  w.Key("structured_data");
  w.BeginArray();
  for (const auto& el : e.structured_data()) {
    w.BeginObject();
    w.Key("id");
    w.String(el.id());
    w.Key("params");
    w.BeginArray();
    for (const auto& prm : el.params()) {
      w.BeginObject();
      w.Key("name");
      w.String(prm.name());
      w.Key("value");
      w.String(prm.value());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("msg");
  w.String(e.msg());
  w.Key("msg_has_bom");
  w.Bool(e.msg_has_bom());
  w.Key("raw_b64");
  w.String(Base64Encode(e.raw()));
  w.Key("parse_error");
  w.String(e.parse_error());
  w.Key("integrity");
  w.String(IntegrityName(e.integrity()));
  w.Key("refs");
  WriteStrings(e.ndcpp_refs(), w);
  w.Key("description");
  w.String(e.description());
  w.Key("hostname_mismatch");
  w.Bool(e.hostname_mismatch());
  w.Key("sender_identity");
  w.String(e.sender_identity());
  w.Key("chain");
  if (e.chain_epoch() != 0 || e.chain_seq() != 0) {
    w.BeginObject();
    w.Key("e");
    w.String(std::to_string(e.chain_epoch()));
    w.Key("s");
    w.Uint(e.chain_seq());
    w.Key("p");
    w.String(LowerHex(e.chain_prev_mac()));
    w.Key("m");
    w.String(LowerHex(e.chain_mac()));
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("audit");
  if (e.has_audit()) {
    WriteAudit(e.audit(), w);
  } else {
    w.Null();
  }
  w.Key("enterprise_number");
  if (e.enterprise_number() != 0) {
    w.Uint(e.enterprise_number());
  } else {
    w.Null();
  }
  if (e.audit_member()) {
    w.Key("audit_member");
    w.Bool(true);
  }
  w.Key("seal");
  WriteSeal(e, seal_proof, w);
  w.EndObject();
}

std::string EventToJson(const v1::Event& e, bool seal_proof) {
  std::string out;
  AppendEventJson(e, seal_proof, &out);
  return out;
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
