#include "common/event/event_utf8.h"

#include <string>
#include <utility>

#include "common/base/utf8.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// Reads through the const getter first: a mutable_*() call on an unset field
// would allocate, and almost every value is valid already.
template <typename Set>
size_t Fix(const std::string& value, Set&& set) {
  if (IsValidUtf8(value)) return 0;
  set(EscapeInvalidUtf8(value));
  return 1;
}

size_t FixAll(google::protobuf::RepeatedPtrField<std::string>* values) {
  size_t fixed = 0;
  for (std::string& v : *values) {
    if (IsValidUtf8(v)) continue;
    v = EscapeInvalidUtf8(v);
    ++fixed;
  }
  return fixed;
}

size_t FixPeer(v1::Peer* p) {
  size_t n = 0;
  n += Fix(p->address(), [p](std::string v) { p->set_address(std::move(v)); });
  n += Fix(p->cert_subject(), [p](std::string v) { p->set_cert_subject(std::move(v)); });
  n += Fix(p->cert_sha256(), [p](std::string v) { p->set_cert_sha256(std::move(v)); });
  if (p->cert_dns_names_size() > 0) n += FixAll(p->mutable_cert_dns_names());
  n += Fix(p->listener(), [p](std::string v) { p->set_listener(std::move(v)); });
  n += Fix(p->bound_host(), [p](std::string v) { p->set_bound_host(std::move(v)); });
  n += Fix(p->tunnel(), [p](std::string v) { p->set_tunnel(std::move(v)); });
  n += Fix(p->cert_common_name(), [p](std::string v) { p->set_cert_common_name(std::move(v)); });
  return n;
}

size_t FixStructuredData(google::protobuf::RepeatedPtrField<v1::SdElement>* elements) {
  size_t n = 0;
  for (v1::SdElement& el : *elements) {
    n += Fix(el.id(), [&el](std::string v) { el.set_id(std::move(v)); });
    for (v1::SdParam& p : *el.mutable_params()) {
      n += Fix(p.name(), [&p](std::string v) { p.set_name(std::move(v)); });
      n += Fix(p.value(), [&p](std::string v) { p.set_value(std::move(v)); });
    }
  }
  return n;
}

size_t FixAudit(v1::AuditEvent* a) {
  size_t n = 0;
  n += Fix(a->node(), [a](std::string v) { a->set_node(std::move(v)); });
  n += Fix(a->time(), [a](std::string v) { a->set_time(std::move(v)); });
  for (v1::AuditRecord& r : *a->mutable_records()) {
    n += Fix(r.type(), [&r](std::string v) { r.set_type(std::move(v)); });
    for (v1::AuditField& f : *r.mutable_fields()) {
      n += Fix(f.name(), [&f](std::string v) { f.set_name(std::move(v)); });
      n += Fix(f.raw(), [&f](std::string v) { f.set_raw(std::move(v)); });
      n += Fix(f.value(), [&f](std::string v) { f.set_value(std::move(v)); });
    }
  }
  return n;
}

size_t FixSealTick(v1::SealTick* t) {
  size_t n = 0;
  for (v1::SealHead& h : *t->mutable_heads()) {
    n += Fix(h.host(), [&h](std::string v) { h.set_host(std::move(v)); });
  }
  return n;
}

}  // namespace

size_t MakeEventStringsValidUtf8(v1::Event* e) {
  size_t n = 0;
  n += Fix(e->host(), [e](std::string v) { e->set_host(std::move(v)); });
  n += Fix(e->timestamp_text(), [e](std::string v) { e->set_timestamp_text(std::move(v)); });
  n += Fix(e->hostname(), [e](std::string v) { e->set_hostname(std::move(v)); });
  n += Fix(e->app_name(), [e](std::string v) { e->set_app_name(std::move(v)); });
  n += Fix(e->procid(), [e](std::string v) { e->set_procid(std::move(v)); });
  n += Fix(e->msgid(), [e](std::string v) { e->set_msgid(std::move(v)); });
  n += Fix(e->parse_error(), [e](std::string v) { e->set_parse_error(std::move(v)); });
  if (e->ndcpp_refs_size() > 0) n += FixAll(e->mutable_ndcpp_refs());
  n += Fix(e->description(), [e](std::string v) { e->set_description(std::move(v)); });
  n += Fix(e->chain_key_id(), [e](std::string v) { e->set_chain_key_id(std::move(v)); });
  n += Fix(e->sender_identity(), [e](std::string v) { e->set_sender_identity(std::move(v)); });
  if (e->has_peer()) n += FixPeer(e->mutable_peer());
  if (e->structured_data_size() > 0) n += FixStructuredData(e->mutable_structured_data());
  if (e->has_audit()) n += FixAudit(e->mutable_audit());
  if (e->has_seal_tick()) n += FixSealTick(e->mutable_seal_tick());
  return n;
}

}  // namespace trailkeep
