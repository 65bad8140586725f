#include "server/net/server_tls.h"

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/x509/subject_name.h"
#include "server/net/tls_context.h"

namespace trailkeep {

struct ServerTls::Entry {
  ~Entry() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
  }
  X509* leaf = nullptr;
  STACK_OF(X509) * chain = nullptr;  // what the peer sent besides the leaf
  std::string address;
  std::function<void()> close;
};

namespace {

// The handshake's verification again, against `ctx`'s store and parameters
// (trust anchors, CRLs and their flags): "" when the chain still passes.
std::string Reverify(SSL_CTX* ctx, X509* leaf, STACK_OF(X509) * chain) {
  X509_STORE_CTX* sctx = X509_STORE_CTX_new();
  if (sctx == nullptr) return "out of memory";
  std::string why;
  if (X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx), leaf, chain) != 1) {
    why = "cannot set up the verification";
  } else {
    // A server verifies its clients for the "ssl_client" purpose.
    X509_STORE_CTX_set_default(sctx, "ssl_client");
    X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(sctx), SSL_CTX_get0_param(ctx));
    if (X509_verify_cert(sctx) != 1) {
      why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx));
    }
  }
  X509_STORE_CTX_free(sctx);
  return why;
}

}  // namespace

std::shared_ptr<ServerTls> ServerTls::Create(std::string listener,
                                             std::shared_ptr<boost::asio::ssl::context> ctx) {
  return std::shared_ptr<ServerTls>(new ServerTls(std::move(listener), std::move(ctx)));
}

ServerTls::ServerTls(std::string listener, std::shared_ptr<boost::asio::ssl::context> ctx)
    : listener_(std::move(listener)), ctx_(std::move(ctx)) {}

ServerTls::~ServerTls() = default;

std::shared_ptr<boost::asio::ssl::context> ServerTls::context() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ctx_;
}

std::shared_ptr<void> ServerTls::Track(SSL* ssl, const std::string& address,
                                       std::function<void()> close) {
  X509* leaf = SSL_get1_peer_certificate(ssl);
  if (leaf == nullptr) return nullptr;
  // A handshake that began before a Replace was verified with the old
  // context and missed its re-check: check it against the current one now.
  std::shared_ptr<boost::asio::ssl::context> current = context();
  if (SSL_get_SSL_CTX(ssl) != current->native_handle() &&
      !Reverify(current->native_handle(), leaf, SSL_get_peer_cert_chain(ssl)).empty()) {
    X509_free(leaf);
    close();
    return nullptr;
  }
  auto entry = std::make_unique<Entry>();
  entry->leaf = leaf;
  // Server side: the chain the client sent, without its leaf.
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);
  entry->chain = sent != nullptr ? X509_chain_up_ref(sent) : sk_X509_new_null();
  entry->address = address;
  entry->close = std::move(close);
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    peers_.emplace(id, std::move(entry));
  }
  std::weak_ptr<ServerTls> weak = weak_from_this();
  return std::shared_ptr<void>(nullptr, [weak, id](void*) {
    if (auto self = weak.lock()) self->Untrack(id);
  });
}

void ServerTls::Untrack(uint64_t id) {
  std::unique_ptr<Entry> gone;  // freed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  gone = std::move(it->second);
  peers_.erase(it);
}

std::vector<WithdrawnPeer> ServerTls::Replace(std::shared_ptr<boost::asio::ssl::context> ctx) {
  std::vector<WithdrawnPeer> withdrawn;
  std::vector<std::unique_ptr<Entry>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = std::move(ctx);
    for (auto it = peers_.begin(); it != peers_.end();) {
      Entry& e = *it->second;
      std::string why = Reverify(ctx_->native_handle(), e.leaf, e.chain);
      if (why.empty()) {
        ++it;
        continue;
      }
      WithdrawnPeer w;
      w.address = e.address;
      w.listener = listener_;
      w.cert_subject = SubjectRfc2253(X509_get_subject_name(e.leaf));
      w.cert_sha256 = CertificateSha256(e.leaf);
      w.reason = std::move(why);
      withdrawn.push_back(std::move(w));
      closing.push_back(std::move(it->second));
      it = peers_.erase(it);
    }
  }
  for (auto& e : closing) e->close();
  return withdrawn;
}

size_t ServerTls::tracked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peers_.size();
}

}  // namespace trailkeep
