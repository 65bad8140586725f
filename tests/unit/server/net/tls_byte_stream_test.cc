// TlsByteStream against a real TLS client (boost::asio::ssl::stream) over
// loopback TCP: a mutual-TLS handshake, records read after
// AsyncWaitReadable without a buffer held while waiting, records that come
// in pieces, a write beside a waiting read, and how the end of a connection
// is reported (close_notify: eof; without one: stream_truncated).
#include "server/net/tls_byte_stream.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "server/net/tcp_byte_stream.h"
#include "server/net/tls_context.h"
#include "tests/unit/self_signed_cert.h"
#include "tests/unit/temp_dir.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = net::ip::tcp;

class TlsByteStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteSelfSigned(dir_.path());  // server, client and anchor
    TlsOptions o;
    o.cert_file = dir_.path() + "/cert.pem";
    o.key_file = dir_.path() + "/key.pem";
    o.ca_file = o.cert_file;
    o.client_auth = ClientAuth::kRequire;
    auto built = BuildServerTlsContext(o);
    ASSERT_TRUE(built.ok()) << built.status().message();
    server_ctx_ = std::move(built).value();
    client_ctx_.set_verify_mode(ssl::verify_peer);
    client_ctx_.load_verify_file(o.cert_file);
    client_ctx_.use_certificate_chain_file(o.cert_file);
    client_ctx_.use_private_key_file(o.key_file, ssl::context::pem);

    client_.emplace(io_, client_ctx_);
    tcp::acceptor acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    client_->next_layer().connect(acceptor.local_endpoint());
    tcp::socket accepted(io_);
    acceptor.accept(accepted);
    server_ = std::make_unique<TlsByteStream>(std::make_unique<TcpByteStream>(std::move(accepted)),
                                              server_ctx_);
    bool served = false, client_done = false;
    error_code server_ec, client_ec;
    server_->AsyncHandshake([&](const error_code& ec) {
      server_ec = ec;
      served = true;
    });
    client_->async_handshake(ssl::stream_base::client, [&](const error_code& ec) {
      client_ec = ec;
      client_done = true;
    });
    RunUntil([&] { return served && client_done; });
    ASSERT_FALSE(server_ec) << server_ec.message();
    ASSERT_FALSE(client_ec) << client_ec.message();
  }

  void RunUntil(const std::function<bool()>& done) {
    io_.restart();  // run_one_for stops the context whenever it runs out of work
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(done()) << "timed out";
  }

  // Waits until readable, then reads with ReadSomeNow until would_block or
  // an error; returns what it read, *end the error that ended it.
  std::string WaitAndDrain(error_code* end) {
    bool woke = false;
    server_->AsyncWaitReadable([&](const error_code& ec) {
      EXPECT_FALSE(ec);
      woke = true;
    });
    RunUntil([&] { return woke; });
    if (!woke) {
      *end = net::error::timed_out;  // ends the callers' loops
      return "";
    }
    std::string got;
    char buf[16 * 1024];
    for (;;) {
      error_code ec;
      const size_t n = server_->ReadSomeNow(net::buffer(buf), ec);
      got.append(buf, n);
      if (ec) {
        *end = ec;
        return got;
      }
    }
  }

  // Reads until `want` bytes came or the connection ended (*end).
  std::string ReadAll(size_t want, error_code* end) {
    std::string got;
    while (got.size() < want) {
      got += WaitAndDrain(end);
      if (*end != net::error::would_block) break;
    }
    return got;
  }

  testing::TempDir dir_{"tk-tls-stream"};
  net::io_context io_;
  std::shared_ptr<ssl::context> server_ctx_;
  ssl::context client_ctx_{ssl::context::tls_client};
  // Made once client_ctx_ holds the certificate (SSL_new copies it).
  std::optional<ssl::stream<tcp::socket>> client_;
  std::unique_ptr<TlsByteStream> server_;
};

TEST_F(TlsByteStreamTest, HandshakeVerifiesTheClientCertificate) {
  EXPECT_NE(SSL_get0_peer_certificate(server_->native_handle()), nullptr);
  EXPECT_EQ(SSL_get_verify_result(server_->native_handle()), X509_V_OK);
  EXPECT_EQ(server_->verify_error(), "");
}

TEST_F(TlsByteStreamTest, ReadsRecordsAfterWaitingWithoutABuffer) {
  // Three records in one write, then one larger than a record.
  std::string sent;
  for (const std::string& m : {std::string(100, 'a'), std::string(200, 'b'), std::string(3, 'c'),
                               std::string(40000, 'd')}) {
    net::write(*client_, net::buffer(m));
    sent += m;
  }
  error_code end;
  EXPECT_EQ(ReadAll(sent.size(), &end), sent);
  EXPECT_EQ(end, net::error::would_block);
  // Nothing more: ReadSomeNow says would_block, and a wait does not end by
  // itself.
  char buf[64];
  error_code ec;
  EXPECT_EQ(server_->ReadSomeNow(net::buffer(buf), ec), 0u);
  EXPECT_EQ(ec, net::error::would_block);
  bool woke = false;
  server_->AsyncWaitReadable([&](const error_code&) { woke = true; });
  io_.restart();
  io_.run_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(woke);
  net::write(*client_, net::buffer(std::string("late")));
  RunUntil([&] { return woke; });
  const size_t n = server_->ReadSomeNow(net::buffer(buf), ec);
  EXPECT_EQ(std::string(buf, n), "late");
}

TEST_F(TlsByteStreamTest, RecordInPiecesWaitsForItsEnd) {
  // The client's record is taken from its SSL in memory and sent in pieces
  // through the raw socket: a wake-up that finds part of a record reads
  // nothing and waits again, without spinning on what OpenSSL holds.
  SSL* c = client_->native_handle();
  BIO* mem = BIO_new(BIO_s_mem());
  SSL_set0_wbio(c, mem);  // the client writes nothing through Asio any more
  const std::string message(5000, 'x');
  ASSERT_EQ(SSL_write(c, message.data(), static_cast<int>(message.size())), 5000);
  std::string record(static_cast<size_t>(BIO_pending(mem)), '\0');
  ASSERT_EQ(BIO_read(mem, record.data(), static_cast<int>(record.size())),
            static_cast<int>(record.size()));
  ASSERT_GT(record.size(), message.size());
  error_code end;
  net::write(client_->next_layer(), net::buffer(record.data(), 3));  // part of the header
  EXPECT_EQ(WaitAndDrain(&end), "");
  EXPECT_EQ(end, net::error::would_block);
  net::write(client_->next_layer(), net::buffer(record.data() + 3, 2000));
  EXPECT_EQ(WaitAndDrain(&end), "");
  EXPECT_EQ(end, net::error::would_block);
  net::write(client_->next_layer(), net::buffer(record.data() + 2003, record.size() - 2003));
  EXPECT_EQ(WaitAndDrain(&end), message);
  EXPECT_EQ(end, net::error::would_block);
}

TEST_F(TlsByteStreamTest, WritesBesideAWaitingRead) {
  bool woke = false;
  server_->AsyncWaitReadable([&](const error_code&) { woke = true; });
  bool written = false;
  const std::string reply(20000, 'r');
  server_->AsyncWrite(net::buffer(reply), [&](const error_code& ec, size_t n) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(n, reply.size());
    written = true;
  });
  std::string got(reply.size(), '\0');
  bool read = false;
  net::async_read(*client_, net::buffer(got), [&](const error_code& ec, size_t) {
    EXPECT_FALSE(ec);
    read = true;
  });
  RunUntil([&] { return written && read; });
  EXPECT_EQ(got, reply);
  EXPECT_FALSE(woke);
  net::write(*client_, net::buffer(std::string("ping")));
  RunUntil([&] { return woke; });
}

TEST_F(TlsByteStreamTest, CloseNotifyIsEof) {
  net::write(*client_, net::buffer(std::string("last")));
  bool shut = false;
  client_->async_shutdown([&](const error_code&) { shut = true; });
  error_code end;
  std::string got;
  while (end == error_code() || end == net::error::would_block) {
    end = {};
    got += WaitAndDrain(&end);
  }
  EXPECT_EQ(got, "last");
  EXPECT_EQ(end, net::error::eof) << end.message();
  bool server_shut = false;
  server_->AsyncShutdown([&](const error_code&) { server_shut = true; });
  RunUntil([&] { return shut && server_shut; });
}

TEST_F(TlsByteStreamTest, TransportEndWithoutCloseNotifyIsTruncation) {
  net::write(*client_, net::buffer(std::string("cut")));
  client_->next_layer().close();
  error_code end;
  std::string got;
  while (end == error_code() || end == net::error::would_block) {
    end = {};
    got += WaitAndDrain(&end);
  }
  EXPECT_EQ(got, "cut");
  EXPECT_EQ(end, ssl::error::stream_truncated) << end.message();
}

TEST_F(TlsByteStreamTest, CloseAbortsAWaitingRead) {
  error_code got;
  bool woke = false;
  server_->AsyncWaitReadable([&](const error_code& ec) {
    got = ec;
    woke = true;
  });
  server_->Close();
  RunUntil([&] { return woke; });
  char buf[16];
  error_code ec;
  EXPECT_EQ(server_->ReadSomeNow(net::buffer(buf), ec), 0u);
  EXPECT_EQ(ec, net::error::operation_aborted) << ec.message();
}

}  // namespace
}  // namespace trailkeep
