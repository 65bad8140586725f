// An auditd record as the port-60 listener hands it to the commit stages
// (transport AUDIT_PORT60, marked as an audit-group member), for the tests
// of audit grouping.
#pragma once

#include <cstdint>
#include <string>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep::testing {

inline v1::Event Port60Record(const std::string& text,
                              int64_t receive_time_us = 1'700'000'000'000'000) {
  v1::Event e;
  e.set_host("db1");
  e.set_app_name("auditd");
  e.set_msg(text);
  e.set_raw(text);
  e.set_transport(v1::TRANSPORT_AUDIT_PORT60);
  e.set_receive_time_us(receive_time_us);
  e.set_audit_member(true);
  e.mutable_peer()->set_address("192.0.2.7:40000");
  return e;
}

}  // namespace trailkeep::testing
