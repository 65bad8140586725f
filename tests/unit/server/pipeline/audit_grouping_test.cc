#include "server/pipeline/audit_grouping.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "server/pipeline/audit_remote_records.h"
#include "server/store/store.h"
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

// Port 60: a record time past what int64 microseconds hold overflowed a
// signed multiply (undefined behaviour, from any unauthenticated peer); it
// is no time, so the record keeps its receive time.
TEST(AuditRemoteRecords, TimeOutOfRangeIsNoTime) {
  int64_t t = 0;
  EXPECT_TRUE(AuditRecordTimeUs("type=X msg=audit(9223372036853.999:1): a=b", &t));
  EXPECT_EQ(t, 9223372036853999000);
  EXPECT_FALSE(AuditRecordTimeUs("type=X msg=audit(17000000700000000.700:1): a=b", &t));
  EXPECT_FALSE(AuditRecordTimeUs("type=X msg=audit(9223372036854.000:1): a=b", &t));
  EXPECT_FALSE(AuditRecordTimeUs("type=X msg=audit(-5.000:1): a=b", &t));
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

// Port-60 records without node= (audisp-remote), accepted on `listener`;
// `tunnel_node` set: they came through that [[tunnel]].
v1::Event Port60(const std::string& listener, const std::string& tunnel_node = "") {
  v1::Event e = Record(kSyscall, tunnel_node, v1::TRANSPORT_AUDIT_PORT60);
  e.set_host(tunnel_node.empty() ? "192.0.2.7" : tunnel_node);
  e.mutable_peer()->set_listener(listener);
  return e;
}

// The node of the one event grouped from `record` (closed by Flush).
std::string NodeOf(AuditGrouping* g, v1::Event record) {
  std::vector<v1::Event> batch = {std::move(record)};
  MarkAuditMembers(&batch);
  std::vector<v1::Event> out;
  g->OnCommitted(batch, 1000, &out);
  g->Flush(&out);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? "<none>" : out[0].audit().node();
}

TEST(AuditGrouping, NameFormatPerListenerAndPerTunnel) {
  AuditGroupingOptions options;
  options.naming = {audit::NameFormat::kNone, ""};  // [audit]
  options.tunnels["edge1"] = {"edge1.example.net", audit::NodeNaming{audit::NameFormat::kFqd, ""}};
  options.tunnels["edge2"] = {"198.51.100.9", std::nullopt};
  AuditGrouping g(options);
  g.SetListenerNaming("127.0.0.1:6001", {audit::NameFormat::kUser, "site-a"});
  g.SetListenerNaming("127.0.0.1:6002", {audit::NameFormat::kNumeric, ""});

  EXPECT_EQ(NodeOf(&g, Port60("127.0.0.1:6000")), "");  // [audit]: none
  EXPECT_EQ(NodeOf(&g, Port60("127.0.0.1:6001")), "site-a");
  EXPECT_EQ(NodeOf(&g, Port60("127.0.0.1:6002")), "192.0.2.7");
  // The tunnel's own name_format wins over its listener's...
  EXPECT_EQ(NodeOf(&g, Port60("127.0.0.1:6001", "edge1")), "edge1.example.net");
  // ...and a tunnel without one takes its listener's: numeric is the tunnel's
  // host (the TCP peer is the collector's own loopback bridge).
  EXPECT_EQ(NodeOf(&g, Port60("127.0.0.1:6002", "edge2")), "198.51.100.9");
  EXPECT_EQ(NodeOf(&g, Port60("127.0.0.1:6000", "edge2")), "");
}

TEST(AuditGrouping, AgentNamesComeFromItsCertificate) {
  AuditGroupingOptions options;
  options.naming = {audit::NameFormat::kFqd, ""};
  AuditGrouping g(options);
  v1::Event r = Record(kSyscall, "web01");
  r.mutable_peer()->add_cert_dns_names("web01");
  r.mutable_peer()->add_cert_dns_names("web01.dc1.example.com");
  EXPECT_EQ(NodeOf(&g, r), "web01.dc1.example.com");
  AuditGrouping hostname(AuditGroupingOptions{});
  EXPECT_EQ(NodeOf(&hostname, r), "web01");
}

TEST(AuditGrouping, ARecordsOwnNodeIsKept) {
  AuditGroupingOptions options;
  options.naming = {audit::NameFormat::kUser, "site-a"};
  AuditGrouping g(options);
  EXPECT_EQ(NodeOf(&g, Record(std::string("node=db7 ") + kSyscall, "web01.example.com")), "db7");
}

v1::Event Inventory(const std::string& host, const std::string& user_1000, int64_t time_us) {
  v1::Event e;
  e.set_host(host);
  e.set_app_name("trailkeep");
  e.set_msgid("INVENTORY");
  e.set_msg(R"({"users":{"1000":")" + user_1000 + R"("},"groups":{"0":"root"}})");
  e.mutable_peer()->set_bound_host(host);
  e.set_receive_time_us(time_us);
  return e;
}

std::string Uid(const v1::Event& grouped) {
  for (const auto& f : grouped.audit().records(0).fields()) {
    if (f.name() == "uid") return f.unresolved() ? "unresolved:" + f.value() : f.value();
  }
  return "<no uid>";
}

TEST(AuditGrouping, IdentityMapsAreRestoredFromTheNewestStoredInventory) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("tk_restore_maps_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  constexpr int64_t kDay = 86'400'000'000, kNow = 1'800'000'000'000'000;
  {
    auto opened = OpenRocksDbStore(dir.string(), StoreMode::kReadWrite);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto store = std::move(opened).value();
    // Ten days ago alice, three days ago bob (the newest), then other events.
    std::vector<std::vector<v1::Event>> commits = {
        {Inventory("web01.example.com", "alice", kNow - 10 * kDay)},
        {Inventory("web01.example.com", "bob", kNow - 3 * kDay)},
        {Inventory("web02.example.com", "carol", kNow - kDay)},
    };
    v1::Event noise = Record("Accepted publickey for bob", "web01.example.com");
    noise.set_app_name("sshd");
    noise.set_receive_time_us(kNow - 60'000'000);
    commits.push_back({noise});
    // A look-alike from an unauthenticated sender must not be taken.
    v1::Event forged = Inventory("web02.example.com", "mallory", kNow - 1000);
    forged.mutable_peer()->clear_bound_host();
    commits.push_back({forged});
    for (auto& c : commits) ASSERT_TRUE(store->Commit(&c).ok());
    // The two agents' chains (the verifier records them so); web04 has an
    // inventory-looking event but no chain: not an agent, not read.
    CommitExtras extras;
    for (const char* agent : {"web01.example.com", "web02.example.com"}) {
      v1::HostState& hs = extras.chain_states.emplace_back();
      hs.set_name(agent);
      hs.set_chain_epoch(1);
    }
    std::vector<v1::Event> none;
    ASSERT_TRUE(store->Commit(&none, &extras).ok());
    std::vector<v1::Event> unchained = {Inventory("web04.example.com", "dave", kNow - 1000)};
    ASSERT_TRUE(store->Commit(&unchained).ok());

    AuditGrouping g(AuditGroupingOptions{});
    auto restored = RestoreIdentityMaps(*store, kNow, &g);
    ASSERT_TRUE(restored.ok()) << restored.status().ToString();
    EXPECT_EQ(restored.value(), 2u);
    std::vector<v1::Event> batch = {
        Record(kSyscall, "web01.example.com"), Record(kSyscall, "web02.example.com"),
        Record(kSyscall, "web03.example.com"), Record(kSyscall, "web04.example.com")};
    MarkAuditMembers(&batch);
    std::vector<v1::Event> out;
    g.OnCommitted(batch, 1000, &out);
    g.Flush(&out);
    ASSERT_EQ(out.size(), 4u);
    std::map<std::string, std::string> uid;
    for (const auto& e : out) uid[e.host()] = Uid(e);
    EXPECT_EQ(uid["web01.example.com"], "bob");
    EXPECT_EQ(uid["web02.example.com"], "carol");
    EXPECT_EQ(uid["web03.example.com"], "unresolved:1000");
    EXPECT_EQ(uid["web04.example.com"], "unresolved:1000");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trailkeep
