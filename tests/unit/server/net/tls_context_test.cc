#include "server/net/tls_context.h"

#include <gtest/gtest.h>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

TEST(DnsNameMatchesTest, Rfc5425WildcardRules) {
  EXPECT_TRUE(DnsNameMatches("collector.test", "COLLECTOR.test"));
  EXPECT_TRUE(DnsNameMatches("*.example.com", "a.example.com"));
  EXPECT_FALSE(DnsNameMatches("*.example.com", "example.com"));
  EXPECT_FALSE(DnsNameMatches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(DnsNameMatches("a.example.com", "b.example.com"));
}

TEST(PeerPermittedTest, NamesAndFingerprintsInBothSpellings) {
  TlsOptions o;
  v1::Peer p;
  p.set_authenticated(true);
  p.set_cert_subject("CN=node1,O=x");
  p.set_cert_sha256("sha-256:AB:CD");
  p.add_cert_dns_names("node1.fleet.test");
  std::string why;
  EXPECT_TRUE(PeerPermitted(o, p, &why));  // no restriction configured
  o.permitted_peers = {"*.other.test"};
  EXPECT_FALSE(PeerPermitted(o, p, &why));
  EXPECT_NE(why.find("not among the permitted peers"), std::string::npos);
  o.permitted_peers = {"*.fleet.test"};
  EXPECT_TRUE(PeerPermitted(o, p, &why));
  o.permitted_peers = {"nobody"};
  o.permitted_fingerprints = {"SHA256:ab:cd"};
  EXPECT_TRUE(PeerPermitted(o, p, &why));
  v1::Peer anonymous;  // optional client auth without a certificate
  EXPECT_TRUE(PeerPermitted(o, anonymous, &why));
}

TEST(PeerPermittedTest, CommonNameOnlyWithoutSan) {
  TlsOptions o;
  o.permitted_peers = {"node1"};
  v1::Peer p;
  p.set_authenticated(true);
  p.set_cert_subject("CN=node1,O=x");
  p.set_cert_common_name("node1");
  std::string why;
  EXPECT_TRUE(PeerPermitted(o, p, &why));
  p.add_cert_dns_names("other.test");  // with a SAN dNSName the CN does not count
  EXPECT_FALSE(PeerPermitted(o, p, &why));
}

// The CN comes from the parsed certificate (FillPeerFromTls), never from the
// subject text: "CN=node1" inside another attribute names nobody.
TEST(PeerPermittedTest, CnTextInTheSubjectIsNotAnIdentity) {
  TlsOptions o;
  o.permitted_peers = {"node1"};
  const std::pair<const char*, const char*> certs[] = {
      {"O=xCN=node1", ""},  // what SubjectCommonName gives for each subject
      {"O=xCN=node1,CN=nobody", "nobody"},
      {"OU=a\\,CN=node1,CN=nobody", "nobody"},
      {"L=CN=node1,CN=web-9", "web-9"},
      {"CN=node1,CN=nobody", ""},  // several CNs: none
  };
  for (const auto& [subject, cn] : certs) {
    v1::Peer p;
    p.set_authenticated(true);
    p.set_cert_subject(subject);
    p.set_cert_common_name(cn);
    std::string why;
    EXPECT_FALSE(PeerPermitted(o, p, &why)) << subject;
  }
}

}  // namespace
}  // namespace trailkeep
