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
  // Must not block: the node calls it on its loop with an address from lookup() whenever
  // needs_lookup(host) says the host is a name.
  virtual Result<std::unique_ptr<Socket>> connect(const std::string& host, std::uint16_t port) = 0;
  // Whether `host` must go through lookup() before connect(). Default: no (transports that
  // ignore hosts).
  virtual bool needs_lookup(const std::string& host) const;
  // The address connect() should get for `host`. May block for as long as name resolution
  // takes; the node calls it on a worker thread, so it must be thread-safe.
  virtual Result<std::string> lookup(const std::string& host);
};

// tcp_listen / tcp_connect.
std::shared_ptr<Transport> tcp_transport();

// Nodes that share one local transport reach each other by port alone (the host part of a
// name is ignored); a port nobody listens on refuses at once. Thread-safe: the nodes may run
// their loops on different threads.
std::shared_ptr<Transport> local_transport();

}  // namespace convoy
