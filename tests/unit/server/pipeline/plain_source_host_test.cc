// PlainSourceHosts: the host of a plaintext (UDP/TCP syslog) sender, from its
// address, the configured mapping and the relays' host patterns.
#include "server/pipeline/plain_source_host.h"

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

PlainSourceHosts Make(const PlainSourceConfig& c) {
  auto made = PlainSourceHosts::Make(c);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  return made.ok() ? std::move(made).value() : PlainSourceHosts();
}

PlainSourceConfig Site() {
  PlainSourceConfig c;
  c.hosts = {{"192.0.2.7", "core-sw1"},
             {"10.8.0.0/16", "row8-pdus"},
             {"10.8.3.0/24", "row8-rack3"},
             {"2001:db8::/32", "v6-gear"},
             {"198.51.100.9", "relay1"}};
  c.relays = {{"198.51.100.9", {"sw-*.dc1.example.net", "ipmi-??"}}};
  return c;
}

TEST(PlainSourceHostTest, WithoutAMappingTheHostIsTheSendersAddress) {
  const PlainSourceHosts none;
  EXPECT_EQ(none.HostOf("203.0.113.5", "claims-to-be-web01"), "203.0.113.5");
  EXPECT_EQ(none.HostOf("2001:db8::1", ""), "2001:db8::1");
  // A dual-stack socket's view of an IPv4 sender is that IPv4 address.
  EXPECT_EQ(none.HostOf("::ffff:203.0.113.5", ""), "203.0.113.5");
}

TEST(PlainSourceHostTest, TheMappingNamesAddressesAndTheLongestPrefixWins) {
  const PlainSourceHosts h = Make(Site());
  EXPECT_EQ(h.HostOf("192.0.2.7", "anything"), "core-sw1");
  EXPECT_EQ(h.HostOf("192.0.2.8", "anything"), "192.0.2.8");
  EXPECT_EQ(h.HostOf("10.8.200.1", ""), "row8-pdus");
  EXPECT_EQ(h.HostOf("10.8.3.77", ""), "row8-rack3");
  EXPECT_EQ(h.HostOf("10.9.3.77", ""), "10.9.3.77");
  EXPECT_EQ(h.HostOf("2001:db8:5::9", ""), "v6-gear");
  EXPECT_EQ(h.HostOf("2001:db9::9", ""), "2001:db9::9");
  EXPECT_EQ(h.HostOf("::ffff:192.0.2.7", ""), "core-sw1");
  // An IPv4 range never matches an IPv6 address that is not mapped.
  EXPECT_EQ(h.HostOf("::c000:207", ""), "::c000:207");
}

TEST(PlainSourceHostTest, ARelaySpeaksOnlyForTheHostsItsPatternsName) {
  const PlainSourceHosts h = Make(Site());
  EXPECT_EQ(h.HostOf("198.51.100.9", "sw-12.dc1.example.net"), "sw-12.dc1.example.net");
  EXPECT_EQ(h.HostOf("198.51.100.9", "ipmi-07"), "ipmi-07");
  // A claim outside its patterns, or none: the relay's own name.
  EXPECT_EQ(h.HostOf("198.51.100.9", "web01.example.net"), "relay1");
  EXPECT_EQ(h.HostOf("198.51.100.9", "ipmi-007"), "relay1");
  EXPECT_EQ(h.HostOf("198.51.100.9", ""), "relay1");
  // Another address claiming a relayed name gets no such trust.
  EXPECT_EQ(h.HostOf("192.0.2.7", "sw-12.dc1.example.net"), "core-sw1");
  EXPECT_EQ(h.HostOf("203.0.113.5", "sw-12.dc1.example.net"), "203.0.113.5");
}

TEST(PlainSourceHostTest, ARelayRangeAndAnUnmappedRelay) {
  PlainSourceConfig c;
  c.relays = {{"10.0.0.0/30", {"*"}}};
  const PlainSourceHosts h = Make(c);
  EXPECT_EQ(h.HostOf("10.0.0.3", "Switch-A"), "Switch-A");
  EXPECT_EQ(h.HostOf("10.0.0.3", ""), "10.0.0.3");
  EXPECT_EQ(h.HostOf("10.0.0.4", "Switch-A"), "10.0.0.4");
}

TEST(PlainSourceHostTest, BadEntriesAreRefusedByName) {
  for (const char* bad :
       {"192.0.2.300", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "web01", "10.0.0.0/8x"}) {
    PlainSourceConfig c;
    c.hosts = {{bad, "x"}};
    auto made = PlainSourceHosts::Make(c);
    ASSERT_FALSE(made.ok()) << bad;
    EXPECT_NE(made.status().message().find(bad), std::string::npos) << made.status().message();
  }
  PlainSourceConfig c;
  c.relays = {{"10.0.0.1", {}}};
  EXPECT_FALSE(PlainSourceHosts::Make(c).ok());
}

}  // namespace
}  // namespace trailkeep
