#include "server/pipeline/audit_grouping.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr char kSyscall[] =
    "type=SYSCALL msg=audit(1700000000.100:7): arch=c000003e syscall=59 success=yes exit=0 "
    "auid=1000 uid=1000 gid=0";
constexpr char kEoe[] = "type=EOE msg=audit(1700000000.100:7):";

v1::Event Record(const std::string& text, const std::string& bound_host,
                 v1::Transport transport = v1::TRANSPORT_TLS_SYSLOG) {
  v1::Event e;
  e.set_host(bound_host.empty() ? "legacy.test" : bound_host);
  e.set_app_name("auditd");
  e.set_msg(text);
  e.set_transport(transport);
  e.mutable_peer()->set_bound_host(bound_host);
  e.mutable_peer()->set_address("192.0.2.7:40000");
  return e;
}

TEST(AuditGrouping, OnlyRecordsTheChannelVouchesForAreMembers) {
  std::vector<v1::Event> events = {
      Record(kSyscall, "web01.example.com"),                                   // agent
      Record(kSyscall, ""),                                                    // legacy look-alike
      Record(kSyscall, "", v1::TRANSPORT_AUDIT_PORT60),                        // audisp-remote
      Record("Failed password for root from 192.0.2.1", "web01.example.com"),  // not a record
  };
  events[3].set_app_name("sshd");
  MarkAuditMembers(&events);
  EXPECT_TRUE(events[0].audit_member());
  EXPECT_FALSE(events[1].audit_member());
  EXPECT_TRUE(events[2].audit_member());
  EXPECT_FALSE(events[3].audit_member());
}

TEST(AuditGrouping, GroupsCommittedMembersWithTheHostsIdentityMap) {
  AuditGrouping g(AuditGroupingOptions{});
  v1::Event inventory;
  inventory.set_host("web01.example.com");
  inventory.set_app_name("trailkeep");
  inventory.set_msgid("INVENTORY");
  inventory.set_msg(R"({"users":{"1000":"alice"},"groups":{"0":"root"}})");
  inventory.mutable_peer()->set_bound_host("web01.example.com");

  std::vector<v1::Event> batch = {inventory, Record(kSyscall, "web01.example.com")};
  MarkAuditMembers(&batch);
  batch[1].set_chain_seq(42);
  std::vector<v1::Event> out;
  g.OnCommitted(batch, 1000, &out);
  EXPECT_TRUE(out.empty());  // open until its EOE

  std::vector<v1::Event> eoe = {Record(kEoe, "web01.example.com")};
  MarkAuditMembers(&eoe);
  g.OnCommitted(eoe, 2000, &out);
  ASSERT_EQ(out.size(), 1u);
  const v1::Event& e = out[0];
  EXPECT_EQ(e.host(), "web01.example.com");
  EXPECT_EQ(e.audit().node(), "web01");  // name_format hostname
  EXPECT_TRUE(e.audit().complete());
  EXPECT_TRUE(e.audit().identity_map());
  ASSERT_EQ(e.audit().records_size(), 2);
  EXPECT_EQ(e.audit().records(0).text(), kSyscall);
  EXPECT_EQ(e.audit().records(0).chain_seq(), 42u);
  EXPECT_EQ(e.peer().bound_host(), "web01.example.com");
  EXPECT_EQ(e.transport(), v1::TRANSPORT_TLS_SYSLOG);
  EXPECT_FALSE(e.audit_member());
  bool uid_named = false;
  for (const auto& f : e.audit().records(0).fields()) {
    if (f.name() == "uid") uid_named = f.value() == "alice" && !f.unresolved();
  }
  EXPECT_TRUE(uid_named);
  EXPECT_EQ(g.stats().groups_complete, 1u);
  EXPECT_EQ(g.stats().identity_maps, 1u);
}

TEST(AuditGrouping, Port60GroupsWithoutMapExpireAndFlush) {
  AuditGroupingOptions options;
  options.grouper = {.timeout_us = 100, .max_open = 16};
  AuditGrouping g(options);
  std::vector<v1::Event> batch = {Record(kSyscall, "", v1::TRANSPORT_AUDIT_PORT60)};
  batch[0].set_host("192.0.2.7");
  MarkAuditMembers(&batch);
  std::vector<v1::Event> out;
  g.OnCommitted(batch, 1000, &out);
  g.Expire(1099, &out);
  EXPECT_TRUE(out.empty());
  g.Expire(1100, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].audit().complete());
  EXPECT_FALSE(out[0].audit().identity_map());
  EXPECT_EQ(out[0].transport(), v1::TRANSPORT_AUDIT_PORT60);
  for (const auto& f : out[0].audit().records(0).fields()) {
    if (f.name() == "uid") {
      EXPECT_TRUE(f.unresolved()) << f.value();
    }
  }
  g.OnCommitted(batch, 5000, &out);
  g.Flush(&out);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(g.stats().groups_incomplete, 2u);
}

}  // namespace
}  // namespace trailkeep
