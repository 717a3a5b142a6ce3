#pragma once
// Socket: the byte-stream seam under a distribution link. The production implementation is
// a non-blocking TCP socket; unit tests script a peer through a GoogleMock fake.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "convoy/result.hpp"

namespace convoy {

struct IoResult {
  enum class Status { ok, would_block, eof, error };
  Status status = Status::ok;
  std::size_t bytes = 0;
  int err = 0;  // errno when status == error

  static IoResult ok(std::size_t n) { return {Status::ok, n, 0}; }
  static IoResult would_block() { return {Status::would_block, 0, 0}; }
  static IoResult eof() { return {Status::eof, 0, 0}; }
  static IoResult error(int e) { return {Status::error, 0, e}; }
};

class Socket {
 public:
  virtual ~Socket() = default;
  // The descriptor the event loop polls; -1 for sockets that are not backed by one.
  virtual int fd() const = 0;
  virtual IoResult read(std::span<std::uint8_t> into) = 0;
  virtual IoResult write(std::span<const std::uint8_t> bytes) = 0;
  // For a socket still connecting: 0 once connected, errno on failure, EINPROGRESS while
  // pending.
  virtual int connect_result() = 0;
  virtual std::string peer_address() const = 0;
};

// Starts a non-blocking connect; the caller polls for writability then asks
// connect_result(). Blocks in the system resolver unless `host` is a numeric address: the
// node looks names up with lookup_host() off its loop and dials the address.
Result<std::unique_ptr<Socket>> tcp_connect(const std::string& host, std::uint16_t port);
// An IPv4 or IPv6 address literal: connecting to it needs no lookup.
bool is_numeric_host(const std::string& host);
// The address to dial for `host` (getaddrinfo; may block for seconds). An IPv4 address is
// preferred when the name has both: BEAM's default distribution (inet_tcp) listens on IPv4.
Result<std::string> lookup_host(const std::string& host);

class Listener {
 public:
  virtual ~Listener() = default;
  virtual int fd() const = 0;
  // Accepts one pending connection; a null pointer when none is pending.
  virtual Result<std::unique_ptr<Socket>> accept() = 0;
};
// Binds host:port (host "0.0.0.0", "127.0.0.1", a name...) with SO_REUSEADDR.
Result<std::unique_ptr<Listener>> tcp_listen(const std::string& host, std::uint16_t port);

}  // namespace convoy
