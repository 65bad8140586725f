#include "server/net/agent_session.h"

#include <utility>

#include <boost/asio/post.hpp>

#include "trailkeep/v1/record.pb.h"
#include "trailkeep/v1/wire.pb.h"

namespace trailkeep {
namespace {

namespace net = boost::asio;

// AgentLink of one session: serialises frames and posts them to the
// session's strand; a no-op once the session is gone.
class SessionLink final : public AgentLink {
 public:
  SessionLink(std::weak_ptr<FramedTlsSession> session, net::any_io_executor executor)
      : session_(std::move(session)), executor_(std::move(executor)) {}
  void SendResume(uint64_t epoch, uint64_t contiguous_seq, const std::string& head_mac) override {
    v1::CollectorFrame f;
    f.mutable_resume()->set_epoch(epoch);
    f.mutable_resume()->set_contiguous_seq(contiguous_seq);
    f.mutable_resume()->set_head_mac(head_mac);
    f.mutable_resume()->set_host(host_);
    Post(f, false);
  }
  void SendAck(uint64_t epoch, uint64_t contiguous_seq) override {
    v1::CollectorFrame f;
    f.mutable_ack()->set_epoch(epoch);
    f.mutable_ack()->set_contiguous_seq(contiguous_seq);
    // Cumulative: a newer Ack replaces one still queued (framed_tls_session.h).
    net::post(executor_, [session = session_, payload = f.SerializeAsString()]() mutable {
      if (auto s = session.lock()) s->SendLatest(std::move(payload));
    });
  }
  void Close(const std::string& reason) override {
    v1::CollectorFrame f;
    f.mutable_goodbye()->set_reason(reason);
    Post(f, true);
  }
  void SendPause(bool paused, const std::string& reason) override {
    v1::CollectorFrame f;
    if (paused) {
      f.mutable_pause()->set_reason(reason);
    } else {
      f.mutable_proceed();
    }
    Post(f, false);
  }
  void set_host(std::string host) { host_ = std::move(host); }

 private:
  void Post(const v1::CollectorFrame& f, bool then_close) {
    net::post(executor_,
              [session = session_, payload = f.SerializeAsString(), then_close]() mutable {
                if (auto s = session.lock()) s->Send(std::move(payload), then_close);
              });
  }
  std::weak_ptr<FramedTlsSession> session_;
  net::any_io_executor executor_;
  std::string host_;
};

}  // namespace

void StartAgentSession(std::shared_ptr<FramedTlsSession> session, AgentBinder* binder,
                       std::shared_ptr<TlsSyslogCounters> counters) {
  auto link = std::make_shared<SessionLink>(session, session->executor());
  std::string why;
  const std::string host = binder->BindAgent(*session->peer(), link, &why);
  if (host.empty()) {
    ++counters->refused;
    v1::CollectorFrame f;
    f.mutable_goodbye()->set_reason(why);
    session->Send(f.SerializeAsString(), true);
    return;
  }
  link->set_host(host);
  auto peer = std::make_shared<v1::Peer>(*session->peer());
  peer->set_bound_host(host);
  session->set_peer(std::move(peer));
  session->set_on_end([binder, host, link] { binder->UnbindAgent(host, link.get()); });
  session->StartReading();
}

}  // namespace trailkeep
