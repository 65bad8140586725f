// EventToJson (written directly, common/event/json_writer) against the
// nlohmann-based renderer it replaced, kept here as the oracle: for every
// event, the same bytes and the same parsed value.
#include <random>

#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/base/bytes.h"
#include "common/base/time_format.h"
#include "common/event/event_format.h"
#include "common/event/seal_proof.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// --- The oracle: EventToJson as it was (nlohmann::ordered_json, then dump). ---
using ojson = nlohmann::ordered_json;

ojson OracleAudit(const v1::AuditEvent& a) {
  ojson records = ojson::array();
  for (const auto& r : a.records()) {
    ojson fields = ojson::array();
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

ojson OracleSeal(const v1::Event& e, bool seal_proof) {
  if (!e.has_seal()) return nullptr;
  const v1::SealElement& s = e.seal();
  ojson j = {
      {"chain", s.chain()}, {"period", s.period()}, {"seq", s.seq()}, {"mac", LowerHex(s.mac())}};
  if (seal_proof) j["stored_b64"] = Base64Encode(SealProofBytes(e));
  return j;
}

std::string OracleEventToJson(const v1::Event& e, bool seal_proof) {
  ojson j;
  j["ingest_seq"] = e.ingest_seq();
  j["receive_time"] = FormatRfc3339Micros(e.receive_time_us());
  j["host"] = e.host();
  const v1::Peer& p = e.peer();
  j["peer"] = {{"address", p.address()},
               {"authenticated", p.authenticated()},
               {"cert_subject", p.cert_subject()},
               {"cert_common_name", p.cert_common_name()},
               {"cert_sha256", p.cert_sha256()},
               {"cert_dns_names", ojson(std::vector<std::string>(p.cert_dns_names().begin(),
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
  ojson sd = ojson::array();
  for (const auto& el : e.structured_data()) {
    ojson params = ojson::array();
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
  j["refs"] = ojson(std::vector<std::string>(e.ndcpp_refs().begin(), e.ndcpp_refs().end()));
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
  j["audit"] = e.has_audit() ? OracleAudit(e.audit()) : ojson(nullptr);
  j["enterprise_number"] =
      e.enterprise_number() != 0 ? ojson(e.enterprise_number()) : ojson(nullptr);
  if (e.audit_member()) j["audit_member"] = true;
  j["seal"] = OracleSeal(e, seal_proof);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// --- Events ---------------------------------------------------------------------------

// Text that exercises the escaping: quotes, backslashes, control bytes, U+2028,
// invalid and cut-short UTF-8.
const std::vector<std::string>& AwkwardTexts() {
  static const std::vector<std::string> kTexts = {
      "",
      "plain text",
      "quote \" and backslash \\ and slash /",
      std::string("nul \0 bel \x07 esc \x1b del \x7f", 23),
      "\b\t\n\f\r\x0b",
      "line\xE2\x80\xA8separator\xE2\x80\xA9paragraph",
      "caf\xC3\xA9 \xF0\x9F\x98\x80 \xEF\xBB\xBF",
      "bad \x80 \xC0\xAF \xED\xA0\x80 \xF4\x90\x80\x80 \xFF\xFE",
      "cut \xE2\x82",
      "\xF0\x9F\x98",
      std::string(70000, 'x') + "\xC3",  // huge, ending in a cut sequence
  };
  return kTexts;
}

void FillEverything(v1::Event* e, const std::string& t, int variant) {
  e->set_ingest_seq(variant % 2 ? 18446744073709551615ull : 1);
  e->set_receive_time_us(1'764'980'000'123'456 + variant);
  e->set_host(t);
  v1::Peer* p = e->mutable_peer();
  p->set_address("[::1]:6514");
  p->set_authenticated(variant % 3 == 0);
  p->set_cert_subject("CN=" + t);
  p->set_cert_common_name(t);
  p->set_cert_sha256("sha-256:AB:CD");
  p->add_cert_dns_names(t);
  p->add_cert_dns_names("web01.example");
  p->set_listener("0.0.0.0:6514");
  p->set_bound_host(t);
  p->set_tunnel(variant % 2 ? t : "");
  e->set_transport(static_cast<v1::Transport>(variant % 7));
  e->set_format(static_cast<v1::SyntaxFormat>(variant % 6));
  e->set_pri(variant % 4 == 0 ? -1 : 191 - variant % 191);
  e->set_version(variant % 2);
  e->set_timestamp_text(t);
  e->set_event_time_us(-1'000'000 * variant);
  e->set_event_time_inferred(variant % 2 == 1);
  e->set_event_tz_offset_min(-720 + variant);
  e->set_hostname(t);
  e->set_app_name(t);
  e->set_procid(t);
  e->set_msgid(t);
  v1::SdElement* el = e->add_structured_data();
  el->set_id("origin@" + t);
  v1::SdParam* prm = el->add_params();
  prm->set_name(t);
  prm->set_value(t);
  e->add_structured_data()->set_id("empty");  // an element without params
  e->set_msg(t);
  e->set_msg_has_bom(variant % 2 == 0);
  e->set_raw(t);
  e->set_parse_error(t);
  e->set_integrity(static_cast<v1::IntegrityStatus>(variant % 8));
  e->add_ndcpp_refs("FAU_GEN.1");
  e->add_ndcpp_refs(t);
  e->set_description(t);
  e->set_hostname_mismatch(variant % 2 == 1);
  e->set_sender_identity(t);
  e->set_chain_epoch(variant % 2 ? 0 : 1'764'980'000'000'000'000ull);
  e->set_chain_seq(variant % 3 == 0 ? 0 : 77);
  e->set_chain_prev_mac(std::string(32, '\x5a'));
  e->set_chain_mac(t);
  v1::AuditEvent* a = e->mutable_audit();
  a->set_node(t);
  a->set_serial(4294967296ull + variant);
  a->set_time("1764980000.123");
  a->set_complete(variant % 2 == 0);
  a->set_identity_map(variant % 2 == 1);
  v1::AuditRecord* r = a->add_records();
  r->set_type("SYSCALL");
  r->set_text(t);
  r->set_chain_seq(9);
  v1::AuditField* f = r->add_fields();
  f->set_name("uid");
  f->set_raw(t);
  f->set_value(t);
  f->set_unresolved(variant % 2 == 0);
  a->add_records()->set_type("EOE");  // a record without fields
  e->set_audit_member(true);
  e->set_enterprise_number(variant % 2 ? 4294967295u : 32473);
  v1::SealElement* s = e->mutable_seal();
  s->set_chain(variant % 2 ? 4294967295u : 1);
  s->set_period(9007199254740993ull);
  s->set_seq(3);
  s->set_mac(t);
}

void ExpectSame(const v1::Event& e, const std::string& what) {
  // The seal proof serializes string fields this test fills with invalid
  // UTF-8 (the store's guard would have replaced them); protobuf logs each.
  const google::protobuf::LogSilencer quiet;
  for (bool proof : {false, true}) {
    const std::string now = EventToJson(e, proof);
    const std::string was = OracleEventToJson(e, proof);
    ASSERT_EQ(nlohmann::json::parse(now), nlohmann::json::parse(was)) << what << " proof=" << proof;
    // Stronger than the brief needs: the very same bytes, member order included.
    ASSERT_EQ(now, was) << what << " proof=" << proof;
    std::string appended = "prefix";
    AppendEventJson(e, proof, &appended);
    ASSERT_EQ(appended, "prefix" + was) << what;
  }
}

TEST(EventJson, EmptyEventMatchesTheOracle) { ExpectSame(v1::Event(), "empty"); }

TEST(EventJson, EveryMemberPresentWithAwkwardTextMatchesTheOracle) {
  int variant = 0;
  for (const std::string& t : AwkwardTexts()) {
    for (int i = 0; i < 8; ++i, ++variant) {
      v1::Event e;
      FillEverything(&e, t, variant);
      ExpectSame(e, "variant " + std::to_string(variant));
    }
  }
}

TEST(EventJson, OptionalMembersAbsentOneByOneMatchTheOracle) {
  for (int drop = 0; drop < 7; ++drop) {
    v1::Event e;
    FillEverything(&e, AwkwardTexts()[7], drop);
    switch (drop) {
      case 0:
        e.clear_audit();
        break;
      case 1:
        e.clear_seal();
        break;
      case 2:
        e.clear_chain_epoch();
        e.clear_chain_seq();
        break;
      case 3:
        e.clear_enterprise_number();
        break;
      case 4:
        e.clear_audit_member();
        break;
      case 5:
        e.clear_structured_data();
        e.clear_ndcpp_refs();
        e.mutable_peer()->clear_cert_dns_names();
        break;
      case 6:
        e.set_pri(-1);
        e.clear_peer();
        break;
    }
    ExpectSame(e, "drop " + std::to_string(drop));
  }
}

// A seeded generator: every member set or not, text from random bytes.
class RandomEvents {
 public:
  explicit RandomEvents(uint32_t seed) : rng_(seed) {}

  v1::Event Next() {
    v1::Event e;
    if (Coin()) e.set_ingest_seq(rng_());
    e.set_receive_time_us(static_cast<int64_t>(rng_() % 4'000'000'000ull) * 1'000'000);
    if (Coin()) e.set_host(Text());
    if (Coin()) {
      v1::Peer* p = e.mutable_peer();
      p->set_address(Text());
      p->set_authenticated(Coin());
      p->set_cert_subject(Text());
      for (int n = Small(); n > 0; --n) p->add_cert_dns_names(Text());
      p->set_tunnel(Text());
    }
    e.set_transport(static_cast<v1::Transport>(rng_() % 8));
    e.set_format(static_cast<v1::SyntaxFormat>(rng_() % 8));
    e.set_pri(static_cast<int>(rng_() % 200) - 8);
    e.set_version(static_cast<int>(rng_() % 3));
    e.set_timestamp_text(Text());
    e.set_event_time_us(static_cast<int64_t>(rng_()) * 1000);
    e.set_event_tz_offset_min(static_cast<int>(rng_() % 1440) - 720);
    e.set_hostname(Text());
    e.set_app_name(Text());
    e.set_procid(Text());
    e.set_msgid(Text());
    for (int n = Small(); n > 0; --n) {
      v1::SdElement* el = e.add_structured_data();
      el->set_id(Text());
      for (int m = Small(); m > 0; --m) {
        el->add_params()->set_name(Text());
        el->mutable_params(el->params_size() - 1)->set_value(Text());
      }
    }
    e.set_msg(Text());
    e.set_msg_has_bom(Coin());
    e.set_raw(Text());
    if (Coin()) e.set_parse_error(Text());
    e.set_integrity(static_cast<v1::IntegrityStatus>(rng_() % 9));
    for (int n = Small(); n > 0; --n) e.add_ndcpp_refs(Text());
    if (Coin()) e.set_description(Text());
    e.set_hostname_mismatch(Coin());
    if (Coin()) e.set_sender_identity(Text());
    if (Coin()) {
      e.set_chain_epoch(Coin() ? 0 : rng_());
      e.set_chain_seq(rng_() % 3);
      e.set_chain_prev_mac(Text());
      e.set_chain_mac(Text());
    }
    if (Coin()) {
      v1::AuditEvent* a = e.mutable_audit();
      a->set_node(Text());
      a->set_serial(rng_());
      a->set_time(Text());
      a->set_complete(Coin());
      a->set_identity_map(Coin());
      for (int n = Small(); n > 0; --n) {
        v1::AuditRecord* r = a->add_records();
        r->set_type(Text());
        r->set_text(Text());
        r->set_chain_seq(rng_());
        for (int m = Small(); m > 0; --m) {
          v1::AuditField* f = r->add_fields();
          f->set_name(Text());
          f->set_raw(Text());
          f->set_value(Text());
          f->set_unresolved(Coin());
        }
      }
    }
    e.set_audit_member(Coin());
    if (Coin()) e.set_enterprise_number(rng_());
    if (Coin()) {
      v1::SealElement* s = e.mutable_seal();
      s->set_chain(rng_() % 3);
      s->set_period(rng_());
      s->set_seq(rng_());
      s->set_mac(Text());
    }
    return e;
  }

 private:
  bool Coin() { return rng_() % 2 == 0; }
  int Small() { return static_cast<int>(rng_() % 3); }
  std::string Text() {
    std::string s(rng_() % 40, '\0');
    for (char& c : s) {
      const unsigned r = rng_() % 8;
      c = static_cast<char>(r < 5   ? 0x20 + rng_() % 0x60
                            : r < 7 ? 0x80 + rng_() % 0x80
                                    : rng_() % 256);
    }
    return s;
  }

  std::mt19937 rng_;
};

TEST(EventJson, RandomEventsMatchTheOracle) {
  RandomEvents events(17);
  for (int i = 0; i < 3000; ++i) ExpectSame(events.Next(), "random event " + std::to_string(i));
}

}  // namespace
}  // namespace trailkeep
