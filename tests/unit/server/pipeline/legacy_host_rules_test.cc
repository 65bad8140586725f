#include "server/pipeline/legacy_host_rules.h"

#include <gtest/gtest.h>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr char kListener[] = "127.0.0.1:6514";

v1::Peer CertPeer(const std::string& dns, const std::string& cn = "") {
  v1::Peer p;
  p.set_address("192.0.2.9:5000");
  p.set_listener(kListener);
  p.set_authenticated(true);
  if (!dns.empty()) p.add_cert_dns_names(dns);
  p.set_cert_common_name(cn);
  p.set_cert_subject("CN=" + cn);
  p.set_cert_sha256("sha-256:AB:CD");
  return p;
}

LegacyHostRules Rules(HostnameBinding binding, LegacyHostConfig config = {}) {
  config.listeners.emplace_back(kListener, binding);
  return LegacyHostRules(std::move(config));
}

TEST(LegacyHostRulesTest, ParsesThePolicyNames) {
  HostnameBinding b = HostnameBinding::kOff;
  ASSERT_TRUE(ParseHostnameBinding("flag", &b));
  EXPECT_EQ(b, HostnameBinding::kFlag);
  ASSERT_TRUE(ParseHostnameBinding("refuse", &b));
  EXPECT_EQ(b, HostnameBinding::kRefuse);
  ASSERT_TRUE(ParseHostnameBinding("off", &b));
  EXPECT_EQ(b, HostnameBinding::kOff);
  EXPECT_FALSE(ParseHostnameBinding("Flag", &b));
  EXPECT_FALSE(ParseHostnameBinding("", &b));
  EXPECT_STREQ(HostnameBindingName(HostnameBinding::kRefuse), "refuse");
}

TEST(LegacyHostRulesTest, CertificateSpeaksForItsOwnNamesCaseInsensitively) {
  const LegacyHostRules rules = Rules(HostnameBinding::kRefuse);
  const v1::Peer web = CertPeer("web-1.example.org", "web-1");
  EXPECT_FALSE(rules.Judge(web, kListener, "web-1.example.org").mismatch);
  EXPECT_FALSE(rules.Judge(web, kListener, "WEB-1").mismatch);  // the CN
  const LegacyJudgement other = rules.Judge(web, kListener, "db-1");
  EXPECT_TRUE(other.mismatch);
  EXPECT_TRUE(other.refused);
  EXPECT_EQ(other.sender_identity, "web-1");
  EXPECT_NE(other.reason.find("\"db-1\""), std::string::npos) << other.reason;
}

TEST(LegacyHostRulesTest, FlagMarksButKeepsAndOffChecksNothing) {
  const v1::Peer web = CertPeer("web-1.example.org");
  const LegacyJudgement flagged = Rules(HostnameBinding::kFlag).Judge(web, kListener, "db-1");
  EXPECT_TRUE(flagged.mismatch);
  EXPECT_FALSE(flagged.refused);
  EXPECT_EQ(flagged.sender_identity, "web-1.example.org");  // no CN: the DNS name
  const LegacyJudgement off = Rules(HostnameBinding::kOff).Judge(web, kListener, "db-1");
  EXPECT_FALSE(off.mismatch);
  EXPECT_EQ(off.sender_identity, "");
}

TEST(LegacyHostRulesTest, PolicyIsPerListenerWithFlagAsDefault) {
  const LegacyHostRules rules = Rules(HostnameBinding::kRefuse);
  EXPECT_EQ(rules.PolicyOf(kListener), HostnameBinding::kRefuse);
  EXPECT_EQ(rules.PolicyOf("127.0.0.1:7514"), HostnameBinding::kFlag);
  const LegacyJudgement elsewhere = rules.Judge(CertPeer("web-1"), "127.0.0.1:7514", "db-1");
  EXPECT_TRUE(elsewhere.mismatch);
  EXPECT_FALSE(elsewhere.refused);
}

TEST(LegacyHostRulesTest, RelayPatternsByNameOrFingerprint) {
  LegacyHostConfig config;
  config.allowed_hosts.push_back({"relay.example.org", {"web-*", "db-?"}});
  config.allowed_hosts.push_back({"sha-256:AB:CD", {"printer-1"}});
  const LegacyHostRules rules = Rules(HostnameBinding::kRefuse, config);
  const v1::Peer relay = CertPeer("relay.example.org");
  EXPECT_FALSE(rules.Judge(relay, kListener, "web-17").mismatch);
  EXPECT_FALSE(rules.Judge(relay, kListener, "db-2").mismatch);
  EXPECT_FALSE(rules.Judge(relay, kListener, "printer-1").mismatch);  // by its fingerprint
  EXPECT_TRUE(rules.Judge(relay, kListener, "db-22").refused);
  // Another certificate does not borrow the relay's patterns.
  v1::Peer other = CertPeer("other.example.org");
  other.set_cert_sha256("sha-256:EF");
  EXPECT_TRUE(rules.Judge(other, kListener, "web-17").refused);
}

TEST(LegacyHostRulesTest, AgentsHostMapNamesGearWhoseCertificateDiffers) {
  LegacyHostConfig config;
  config.host_map.push_back({"sw-core-01.mgmt.example.org", "core-switch"});
  const LegacyHostRules rules = Rules(HostnameBinding::kRefuse, config);
  const v1::Peer sw = CertPeer("sw-core-01.mgmt.example.org");
  EXPECT_FALSE(rules.Judge(sw, kListener, "core-switch").mismatch);
  EXPECT_TRUE(rules.Judge(sw, kListener, "edge-switch").refused);
}

TEST(LegacyHostRulesTest, SenderWithoutCertificateIsMarkedNeverRefused) {
  v1::Peer anonymous;
  anonymous.set_address("192.0.2.9:5000");
  const LegacyJudgement j = Rules(HostnameBinding::kRefuse).Judge(anonymous, kListener, "web-1");
  EXPECT_TRUE(j.mismatch);
  EXPECT_FALSE(j.refused);
  EXPECT_EQ(j.sender_identity, "unauthenticated");
  EXPECT_EQ(SenderIdentityOf(anonymous), "unauthenticated");
}

}  // namespace
}  // namespace trailkeep
