// The TLS profiles and the client set-up, checked on the contexts they build
// and by handshakes in memory between a client and a server: what a client
// offers shows in which servers it can reach.
#include "common/tls/tls_profile.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/tls/tls_client.h"
#include "tests/unit/self_signed_cert.h"
#include "tests/unit/temp_dir.h"

namespace trailkeep {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

class TlsProfileTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::WriteSelfSigned(dir_.path()); }
  std::string Cert() const { return dir_.path() + "/cert.pem"; }
  std::string Key() const { return dir_.path() + "/key.pem"; }

  CtxPtr Server(TlsProfile profile) const {
    CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    EXPECT_TRUE(ApplyTlsProfile(ctx.get(), profile).ok());
    EXPECT_EQ(1, SSL_CTX_use_certificate_chain_file(ctx.get(), Cert().c_str()));
    EXPECT_EQ(1, SSL_CTX_use_PrivateKey_file(ctx.get(), Key().c_str(), SSL_FILETYPE_PEM));
    return ctx;
  }

  CtxPtr Client(TlsProfile profile) const {
    CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    TlsClientOptions o;
    o.profile = profile;
    o.ca_file = Cert();
    const Status s = ConfigureTlsClient(ctx.get(), o);
    EXPECT_TRUE(s.ok()) << s.message();
    return ctx;
  }

  // Runs a handshake in memory; the client asks for `name`. Returns the
  // client's SSL (negotiated parameters) or nullptr when it failed.
  SslPtr Handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const std::string& name = "localhost",
                   std::string* verify_failure = nullptr) {
    SslPtr client(SSL_new(client_ctx)), server(SSL_new(server_ctx));
    BIO *client_bio = nullptr, *server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(server.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    SetTlsServerName(client.get(), name, true);
    bool client_done = false, server_done = false;
    for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
      for (auto [ssl, done] :
           {std::pair{client.get(), &client_done}, {server.get(), &server_done}}) {
        if (*done) continue;
        const int rc = SSL_do_handshake(ssl);
        if (rc == 1) {
          *done = true;
        } else if (const int err = SSL_get_error(ssl, rc);
                   err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
          if (verify_failure != nullptr) *verify_failure = TlsVerifyFailure(client.get());
          ERR_clear_error();
          return nullptr;
        }
      }
    }
    if (!(client_done && server_done)) return nullptr;
    return client;
  }

  testing::TempDir dir_{"tk-tls-profile"};
};

std::set<std::string> CipherNames(SSL_CTX* ctx) {
  std::set<std::string> out;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    out.insert(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i)));
  }
  return out;
}

TEST(TlsProfileNameTest, ParsesTheTwoNamesOnly) {
  EXPECT_EQ(ParseTlsProfile("ndcpp"), TlsProfile::kNdcpp);
  EXPECT_EQ(ParseTlsProfile("modern"), TlsProfile::kModern);
  EXPECT_EQ(ParseTlsProfile("NDcPP"), std::nullopt);
  EXPECT_EQ(ParseTlsProfile(""), std::nullopt);
  EXPECT_EQ(ParseTlsProfile("intermediate"), std::nullopt);
  EXPECT_EQ(TlsProfileName(TlsProfile::kNdcpp), "ndcpp");
  EXPECT_EQ(TlsProfileName(TlsProfile::kModern), "modern");
}

TEST_F(TlsProfileTest, NdcppListsOnlyAesGcmSuites) {
  CtxPtr ctx = Client(TlsProfile::kNdcpp);
  EXPECT_EQ(CipherNames(ctx.get()),
            (std::set<std::string>{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                   "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
                                   "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
                                   "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384"}));
  const uint64_t options = SSL_CTX_get_options(ctx.get());
  EXPECT_TRUE(options & SSL_OP_NO_COMPRESSION);
  EXPECT_TRUE(options & SSL_OP_NO_RENEGOTIATION);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx.get()), TLS1_3_VERSION);
}

TEST_F(TlsProfileTest, ModernAddsChaCha20) {
  CtxPtr ctx = Client(TlsProfile::kModern);
  const std::set<std::string> names = CipherNames(ctx.get());
  EXPECT_TRUE(names.count("TLS_CHACHA20_POLY1305_SHA256"));
  EXPECT_TRUE(names.count("ECDHE-ECDSA-CHACHA20-POLY1305"));
  EXPECT_TRUE(names.count("TLS_AES_128_GCM_SHA256"));
}

// Against a server that offers one group only, a client reaches it exactly
// when its profile holds that group.
TEST_F(TlsProfileTest, GroupsOfEachProfile) {
  const struct {
    const char* name;
    int nid;
    bool ndcpp;
  } groups[] = {
      {"P-256", NID_X9_62_prime256v1, true},
      {"P-384", NID_secp384r1, true},
      {"P-521", NID_secp521r1, true},
      {"ffdhe2048", NID_ffdhe2048, true},
      {"ffdhe3072", NID_ffdhe3072, true},
      {"ffdhe4096", NID_ffdhe4096, true},
      {"ffdhe6144", NID_ffdhe6144, false},
      {"X25519", NID_X25519, false},
      {"X448", NID_X448, false},
  };
  CtxPtr ndcpp = Client(TlsProfile::kNdcpp), modern = Client(TlsProfile::kModern);
  for (const auto& g : groups) {
    CtxPtr server = Server(TlsProfile::kModern);
    ASSERT_EQ(1, SSL_CTX_set1_groups_list(server.get(), g.name)) << g.name;
    SslPtr ssl = Handshake(ndcpp.get(), server.get());
    EXPECT_EQ(ssl != nullptr, g.ndcpp) << g.name;
    if (ssl) {
      EXPECT_EQ(SSL_get_negotiated_group(ssl.get()), g.nid) << g.name;
    }
    // modern: the ndcpp groups plus X25519 and X448.
    ssl = Handshake(modern.get(), server.get());
    EXPECT_EQ(ssl != nullptr, g.ndcpp || g.nid == NID_X25519 || g.nid == NID_X448) << g.name;
  }
}

TEST_F(TlsProfileTest, NdcppPeersNegotiateAesGcmOnP256) {
  CtxPtr server = Server(TlsProfile::kNdcpp), client = Client(TlsProfile::kNdcpp);
  SslPtr ssl = Handshake(client.get(), server.get());
  ASSERT_NE(ssl, nullptr);
  EXPECT_EQ(SSL_version(ssl.get()), TLS1_3_VERSION);
  EXPECT_STREQ(SSL_get_cipher_name(ssl.get()), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(SSL_get_negotiated_group(ssl.get()), NID_X9_62_prime256v1);

  SSL_CTX_set_max_proto_version(server.get(), TLS1_2_VERSION);
  ssl = Handshake(client.get(), server.get());
  ASSERT_NE(ssl, nullptr);
  EXPECT_EQ(SSL_version(ssl.get()), TLS1_2_VERSION);
  EXPECT_STREQ(SSL_get_cipher_name(ssl.get()), "ECDHE-ECDSA-AES128-GCM-SHA256");
}

// A server that speaks only ChaCha20-Poly1305 over X25519 (TLS 1.3) or only
// ChaCha20 (TLS 1.2) is out of an ndcpp client's reach: the client offers
// neither. A modern client reaches it.
TEST_F(TlsProfileTest, NdcppClientOffersNoChaCha20NorX25519) {
  CtxPtr tls13 = Server(TlsProfile::kModern);
  ASSERT_EQ(1, SSL_CTX_set_ciphersuites(tls13.get(), "TLS_CHACHA20_POLY1305_SHA256"));
  ASSERT_EQ(1, SSL_CTX_set1_groups_list(tls13.get(), "X25519"));
  CtxPtr tls12 = Server(TlsProfile::kModern);
  SSL_CTX_set_max_proto_version(tls12.get(), TLS1_2_VERSION);
  ASSERT_EQ(1, SSL_CTX_set_cipher_list(tls12.get(), "ECDHE-ECDSA-CHACHA20-POLY1305"));
  CtxPtr x448 = Server(TlsProfile::kModern);
  ASSERT_EQ(1, SSL_CTX_set1_groups_list(x448.get(), "X448"));

  CtxPtr ndcpp = Client(TlsProfile::kNdcpp), modern = Client(TlsProfile::kModern);
  for (SSL_CTX* server : {tls13.get(), tls12.get(), x448.get()}) {
    EXPECT_EQ(Handshake(ndcpp.get(), server), nullptr);
    SslPtr ssl = Handshake(modern.get(), server);
    ASSERT_NE(ssl, nullptr);
  }
  SslPtr ssl = Handshake(modern.get(), tls13.get());
  ASSERT_NE(ssl, nullptr);
  EXPECT_STREQ(SSL_get_cipher_name(ssl.get()), "TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(SSL_get_negotiated_group(ssl.get()), NID_X25519);
}

// An ndcpp server refuses a client that offers only what the profile left out.
TEST_F(TlsProfileTest, NdcppServerRefusesChaCha20OnlyClients) {
  CtxPtr server = Server(TlsProfile::kNdcpp);
  CtxPtr chacha = Client(TlsProfile::kModern);
  ASSERT_EQ(1, SSL_CTX_set_ciphersuites(chacha.get(), "TLS_CHACHA20_POLY1305_SHA256"));
  EXPECT_EQ(Handshake(chacha.get(), server.get()), nullptr);
  CtxPtr x25519 = Client(TlsProfile::kModern);
  ASSERT_EQ(1, SSL_CTX_set1_groups_list(x25519.get(), "X25519:X448"));
  EXPECT_EQ(Handshake(x25519.get(), server.get()), nullptr);
}

TEST_F(TlsProfileTest, ServerCertificateMustNameTheServer) {
  CtxPtr server = Server(TlsProfile::kNdcpp), client = Client(TlsProfile::kNdcpp);
  std::string why;
  EXPECT_EQ(Handshake(client.get(), server.get(), "other.test", &why), nullptr);
  EXPECT_NE(why.find("mismatch"), std::string::npos) << why;
  why.clear();
  // The certificate holds no IP address: asking for 127.0.0.1 fails too.
  EXPECT_EQ(Handshake(client.get(), server.get(), "127.0.0.1", &why), nullptr);
  EXPECT_NE(why.find("mismatch"), std::string::npos) << why;
}

TEST_F(TlsProfileTest, ClientSetUpErrorsNameTheFile) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  TlsClientOptions o;
  o.ca_file = dir_.path() + "/missing-ca.pem";
  Status s = ConfigureTlsClient(ctx.get(), o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("missing-ca.pem"), std::string::npos) << s.message();
  o.ca_file = Cert();
  o.cert_file = Cert();
  s = ConfigureTlsClient(ctx.get(), o);
  EXPECT_NE(s.message().find("go together"), std::string::npos) << s.message();
  const std::string other = dir_.path() + "/other";
  std::filesystem::create_directory(other);
  testing::WriteSelfSigned(other);
  o.key_file = other + "/key.pem";
  s = ConfigureTlsClient(ctx.get(), o);
  // OpenSSL notices the mismatch as it loads the key.
  EXPECT_NE(s.message().find(other + "/key.pem"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("mismatch"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace trailkeep
