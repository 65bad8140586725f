// Listening sockets for the collector's listeners (syslog, export).
// Included by .cc files of server/net and server/sinks only: it names Asio.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace trailkeep {

// Binds and listens on "host:port" / "[v6]:port" (port 0: a free port). The
// acceptor lives on a strand of `io`, and its accept handlers run there.
// Throws std::runtime_error naming the address on any failure (start-up only).
std::unique_ptr<boost::asio::ip::tcp::acceptor> BindAcceptor(boost::asio::io_context& io,
                                                             const std::string& address);
// The bound "ip:port" of an acceptor, "" when it is closed.
std::string LocalAddress(const boost::asio::ip::tcp::acceptor& acceptor);

// A listener's sockets, one per configured address.
using Acceptors = std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>>;
// Binds every address; throws std::runtime_error (naming `table`, e.g.
// "[[listen.audit]]", when the list is empty) at start-up.
Acceptors BindAcceptors(boost::asio::io_context& io, const std::vector<std::string>& addresses,
                        const std::string& table);
std::vector<std::string> LocalAddresses(const Acceptors& acceptors);
// Closes them all, each on its strand: callable from any thread. The
// acceptors must outlive the io_context's run.
void CloseAcceptors(Acceptors* acceptors);

// The accept loop of every listener: accepts on each acceptor until it is
// closed, each connection on a strand of its own, and hands it to `admit`
// with the bound address that accepted it. `admit` keeps alive what it and
// the acceptors need (the listener's state).
using AdmitConnection =
    std::function<void(boost::asio::ip::tcp::socket socket, const std::string& listener)>;
void AcceptEach(boost::asio::io_context& io, const Acceptors& acceptors, AdmitConnection admit);

}  // namespace trailkeep
