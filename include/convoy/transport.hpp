#pragma once
// Transport: where a node's byte streams come from — the seam under every link. The node
// listens through it on the port its name carries and dials peers through it by the ports
// theirs carry. TCP is the default; a local transport connects nodes of one process over
// socketpairs (no ports, no network), which is how in-process tests run two nodes. A TLS
// transport would plug in here.
#include <cstdint>
#include <memory>
#include <string>

#include "convoy/result.hpp"
#include "convoy/socket.hpp"

namespace convoy {

class Transport {
 public:
  virtual ~Transport() = default;
  // `address` is the interface to bind (TCP) and may be ignored by other transports.
  virtual Result<std::unique_ptr<Listener>> listen(const std::string& address,
                                                   std::uint16_t port) = 0;
  // Starts a non-blocking connect; the socket reports the outcome via connect_result().
  virtual Result<std::unique_ptr<Socket>> connect(const std::string& host, std::uint16_t port) = 0;
};

// tcp_listen / tcp_connect.
std::shared_ptr<Transport> tcp_transport();

// Nodes that share one local transport reach each other by port alone (the host part of a
// name is ignored); a port nobody listens on refuses at once. Thread-safe: the nodes may run
// their loops on different threads.
std::shared_ptr<Transport> local_transport();

}  // namespace convoy
