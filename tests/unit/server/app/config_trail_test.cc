// ConfigTrail and TrustAnchors: what COLLECTOR_START and CONFIG_RELOADED say
// of the configuration file and of the trust anchors, on real files.
#include "server/app/config_trail.h"

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>

#include "server/app/config.h"
#include "server/app/dev_pki.h"
#include "server/app/reload_report.h"
#include "server/app/trust_anchors.h"
#include "tests/unit/temp_dir.h"

namespace trailkeep {
namespace {

// ssh-keygen -t ed25519 / -t ecdsa, fingerprints as ssh-keygen -lf printed them.
constexpr const char* kEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAz9WmpIBUEWn3y0KdJVVSawuBpPhOHFpNG2eAc39tyZ";
constexpr const char* kEd25519Sha = "SHA256:HeaYpG3Wez/WBAncAi0tV0slxpO1H73O/mkCP0wZT2M";
constexpr const char* kEcdsa =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBH+NRkhmJB1bxzVXgfsSGWt/"
    "UxSuc/FK5JcaTSJGVyODFdPu4fEhvoUxOZFFl+IlOH4QB4jjK8vpNKqJHCj0kiE=";
constexpr const char* kEcdsaSha = "SHA256:2A71m8Lg6aECVHu7unAUDsXm3VuU1EnPkgpX7FJxw0A";

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string Get(const Fields& fields, const std::string& name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return "<absent>";
}

bool Has(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

struct Site {
  testing::TempDir dir;
  ServerConfig config;
  DevPkiPaths pki = EnsureDevPki(dir.path() + "/pki");
  Site() {
    config.source = dir.path() + "/trailkeepd.toml";
    Write(config.source, "data_dir = \"/d\"\n[limits]\nmax_connections = 100\n");
    config.syslog.tls.ca_file = pki.ca_cert;
    config.syslog.tls.crl_file = dir.path() + "/crl.pem";
    Write(config.syslog.tls.crl_file, "crl one");
    config.syslog.tls.permitted_fingerprints = {"sha-256:BB", "sha-256:AA"};
    TunnelConfig tunnel;
    tunnel.name = "node1";
    tunnel.known_hosts_file = dir.path() + "/known_hosts";
    Write(tunnel.known_hosts_file, "# keyscan\n[node1]:22 " + std::string(kEd25519) + "\n");
    config.tunnels.push_back(tunnel);
  }
};

TEST(TrustAnchorsTest, EachAnchorWithItsFingerprints) {
  Site s;
  Write(s.config.tunnels[0].known_hosts_file,
        std::string("node1 ") + kEd25519 + " c\n" + "@cert-authority *.example " + kEcdsa + "\n");
  const TrustAnchors anchors = ReadTrustAnchors(s.config);
  ASSERT_EQ(anchors.size(), 4u);
  EXPECT_EQ(anchors.at("tunnel.node1.known_hosts_file"),
            std::string(kEd25519Sha) + "," + kEcdsaSha);
  EXPECT_EQ(anchors.at("tls.permitted_fingerprints"), "sha-256:AA,sha-256:BB");
  EXPECT_EQ(anchors.at("tls.crl_file").size(), 64u);
  const std::string ca = anchors.at("tls.ca_file");
  EXPECT_EQ(ca.rfind("sha-256:", 0), 0u);
  EXPECT_EQ(ca.size(), 8u + 32 * 3 - 1);  // one certificate: 32 bytes as AB:CD:...
  const Fields fields = TrustAnchorFields(anchors);
  EXPECT_EQ(Get(fields, "ca_sha256"), ca);
  EXPECT_EQ(Get(fields, "known_hosts_sha256"),
            "node1=" + std::string(kEd25519Sha) + "," + kEcdsaSha);
  EXPECT_EQ(Get(fields, "pinned_fingerprints"), "sha-256:AA,sha-256:BB");
}

TEST(ConfigTrailTest, StartFieldsCarryTheDigestsAndAnchors) {
  Site s;
  ConfigTrail trail(s.config);
  const Fields f = trail.StartFields();
  EXPECT_EQ(Get(f, "config_sha256").size(), 64u);
  EXPECT_EQ(Get(f, "config_file_sha256").size(), 64u);
  EXPECT_EQ(Get(f, "known_hosts_sha256"), "node1=" + std::string(kEd25519Sha));
  EXPECT_EQ(Get(f, "ca_sha256").rfind("sha-256:", 0), 0u);
}

TEST(ConfigTrailTest, ReloadWithNoChangeNamesNothingAndKeepsTheDigest) {
  Site s;
  ConfigTrail trail(s.config);
  const std::string start = Get(trail.StartFields(), "config_sha256");
  ReloadReport r;
  trail.Reload(&r);
  EXPECT_TRUE(r.changed.empty());
  EXPECT_TRUE(r.refused.empty());
  EXPECT_EQ(Get(r.fields, "config_sha256"), start);
  EXPECT_EQ(Get(r.fields, "config_changed"), "");
  EXPECT_EQ(Get(r.fields, "config_restart_pending"), "0");
  EXPECT_EQ(Get(r.fields, "anchors_changed"), "");

  // A comment is no setting: the same effective digest, another file digest.
  const std::string file_before = Get(r.fields, "config_file_sha256");
  Write(s.config.source, "# edited\ndata_dir = \"/d\"\n\n[limits]\nmax_connections = 100 # same\n");
  ReloadReport r2;
  trail.Reload(&r2);
  EXPECT_TRUE(r2.changed.empty());
  EXPECT_EQ(Get(r2.fields, "config_sha256"), start);
  EXPECT_NE(Get(r2.fields, "config_file_sha256"), file_before);
}

TEST(ConfigTrailTest, AnEditIsNamedByItsKeyAndWaitsForARestart) {
  Site s;
  ConfigTrail trail(s.config);
  const std::string start = Get(trail.StartFields(), "config_sha256");
  Write(s.config.source,
        "data_dir = \"/d\"\n[limits]\nmax_connections = 200\nmax_handshakes = 5\n");
  ReloadReport r;
  trail.Reload(&r);
  EXPECT_NE(Get(r.fields, "config_sha256"), start);
  EXPECT_EQ(Get(r.fields, "config_changed"), "limits.max_connections,limits.max_handshakes");
  EXPECT_TRUE(Has(r.changed, "config:limits.max_connections"));
  EXPECT_EQ(Get(r.fields, "config_restart_pending"), "1");
  // The next reload compares with this reading: nothing new, still pending.
  ReloadReport r2;
  trail.Reload(&r2);
  EXPECT_TRUE(r2.changed.empty());
  EXPECT_EQ(Get(r2.fields, "config_restart_pending"), "1");
}

TEST(ConfigTrailTest, AnUnreadableFileIsRefusedAndTheLastReadingKept) {
  Site s;
  ConfigTrail trail(s.config);
  Write(s.config.source, "data_dir = \n");
  ReloadReport r;
  trail.Reload(&r);
  EXPECT_TRUE(Has(r.refused, "config"));
  EXPECT_NE(Get(r.fields, "config_error").find(":1"), std::string::npos);
  Write(s.config.source, "data_dir = \"/d\"\n[limits]\nmax_connections = 100\n");
  ReloadReport r2;
  trail.Reload(&r2);
  EXPECT_TRUE(r2.changed.empty());
}

TEST(ConfigTrailTest, ReplacedAnchorsAreNamedUnlessTheTlsPartRefusedThem) {
  Site s;
  ConfigTrail trail(s.config);
  const std::string ca_before = Get(trail.StartFields(), "ca_sha256");
  const DevPkiPaths other = EnsureDevPki(s.dir.path() + "/pki2");
  std::filesystem::copy_file(other.ca_cert, s.pki.ca_cert,
                             std::filesystem::copy_options::overwrite_existing);
  Write(s.config.syslog.tls.crl_file, "crl two");
  // The TLS part refused the new material: the listeners keep the old CA and CRL.
  ReloadReport refused;
  refused.refused.push_back("tls");
  Write(s.config.tunnels[0].known_hosts_file, std::string("[node1]:22 ") + kEcdsa + "\n");
  trail.Reload(&refused);
  EXPECT_EQ(Get(refused.fields, "anchors_changed"), "tunnel.node1.known_hosts_file");
  EXPECT_EQ(Get(refused.fields, "ca_sha256"), ca_before);
  EXPECT_EQ(Get(refused.fields, "known_hosts_sha256"), "node1=" + std::string(kEcdsaSha));
  EXPECT_TRUE(Has(refused.changed, "tunnel.node1.known_hosts_file"));
  // Taken in on the next reload: CA and CRL named, once each.
  ReloadReport taken;
  taken.changed.push_back("tls.ca_file");  // as the TLS part names a file whose bytes changed
  trail.Reload(&taken);
  EXPECT_EQ(Get(taken.fields, "anchors_changed"), "tls.ca_file,tls.crl_file");
  EXPECT_NE(Get(taken.fields, "ca_sha256"), ca_before);
  EXPECT_EQ(std::count(taken.changed.begin(), taken.changed.end(), "tls.ca_file"), 1);
  EXPECT_TRUE(Has(taken.changed, "tls.crl_file"));
}

}  // namespace
}  // namespace trailkeep
