#include "server/net/acceptor.h"

#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "common/base/endpoint.h"

namespace trailkeep {

namespace net = boost::asio;
using tcp = net::ip::tcp;

std::unique_ptr<tcp::acceptor> BindAcceptor(net::io_context& io, const std::string& address) {
  std::string host;
  unsigned short port;
  SplitHostPort(address, &host, &port);
  boost::system::error_code ec;
  auto ip = net::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("bad listen address '" + address + "': " + ec.message());
  tcp::endpoint ep(ip, port);
  // On its own strand, which its accept handlers run on too (io_threads > 1).
  auto acc = std::make_unique<tcp::acceptor>(net::make_strand(io));
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + address + ": " + ec.message());
  return acc;
}

std::string LocalAddress(const tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  auto ep = acceptor.local_endpoint(ec);
  if (ec) return "";
  return FormatEndpoint(ep.address().to_string(), ep.address().is_v6(), ep.port());
}

Acceptors BindAcceptors(net::io_context& io, const std::vector<std::string>& addresses,
                        const std::string& table) {
  if (addresses.empty()) throw std::runtime_error("no " + table + " address");
  Acceptors out;
  for (const auto& a : addresses) out.push_back(BindAcceptor(io, a));
  return out;
}

std::vector<std::string> LocalAddresses(const Acceptors& acceptors) {
  std::vector<std::string> out;
  for (const auto& acc : acceptors) out.push_back(LocalAddress(*acc));
  return out;
}

namespace {

void AcceptNext(net::io_context& io, tcp::acceptor* acc,
                std::shared_ptr<const AdmitConnection> admit) {
  acc->async_accept(net::make_strand(io),
                    [&io, acc, admit](boost::system::error_code ec, tcp::socket sock) {
                      if (ec == net::error::operation_aborted || !acc->is_open()) return;
                      if (!ec) (*admit)(std::move(sock), LocalAddress(*acc));
                      AcceptNext(io, acc, admit);
                    });
}

}  // namespace

void AcceptEach(net::io_context& io, const Acceptors& acceptors, AdmitConnection admit) {
  auto shared = std::make_shared<const AdmitConnection>(std::move(admit));
  for (const auto& acc : acceptors) AcceptNext(io, acc.get(), shared);
}

void CloseAcceptors(Acceptors* acceptors) {
  for (auto& acc : *acceptors) {
    net::post(acc->get_executor(), [a = acc.get()] {
      boost::system::error_code ec;
      a->close(ec);
    });
  }
}

}  // namespace trailkeep
