#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "convoy/socket.hpp"
#include "io/fd.hpp"
#include "io/stream_socket.hpp"

namespace convoy {
namespace {

using io::Fd;

Error io_error(std::string_view what, int err) {
  return make_error(Errc::io_error, fmt::format("{}: {}", what, std::strerror(err)));
}

void tune(int fd) {
  int one = 1;
  // Distribution frames are small and latency-sensitive (gen_server calls); batching is
  // done by our own write buffer instead of Nagle.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::string format_address(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  std::uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  return fmt::format("{}:{}", host, port);
}

class TcpListener final : public Listener {
 public:
  explicit TcpListener(Fd fd) : fd_(std::move(fd)) {}
  int fd() const override { return fd_.get(); }
  Result<std::unique_ptr<Socket>> accept() override {
    for (;;) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      const int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        tune(fd);
        return io::make_stream_socket(Fd(fd), format_address(ss));
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return std::unique_ptr<Socket>();
      return io_error("accept", errno);
    }
  }

 private:
  Fd fd_;
};

struct AddrInfo {
  addrinfo* head = nullptr;
  ~AddrInfo() {
    if (head) ::freeaddrinfo(head);
  }
};

Result<AddrInfo*> resolve(const std::string& host, std::uint16_t port, bool passive,
                          AddrInfo& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = (passive ? AI_PASSIVE : 0) | (is_numeric_host(host) ? AI_NUMERICHOST : 0);
  const auto service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &out.head);
  if (rc != 0 || out.head == nullptr) {
    return make_error(Errc::io_error,
                      fmt::format("cannot resolve host '{}': {}", host, ::gai_strerror(rc)));
  }
  return &out;
}

// Tries each address getaddrinfo gave for host:port until `use` accepts a fresh
// non-blocking socket for it; the socket, or the last errno.
template <class Use>
Result<Fd> for_each_address(const std::string& host, std::uint16_t port, bool passive,
                            std::string_view what, Use use) {
  AddrInfo ai;
  if (auto r = resolve(host, port, passive, ai); !r) return r.error();
  int last_err = 0;
  for (addrinfo* a = ai.head; a != nullptr; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.get() >= 0 && use(fd.get(), *a)) return fd;
    last_err = errno;
  }
  return io_error(fmt::format("{} {}:{}", what, host, port), last_err);
}

}  // namespace

bool is_numeric_host(const std::string& host) {
  in6_addr scratch{};
  return ::inet_pton(AF_INET, host.c_str(), &scratch) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &scratch) == 1;
}

Result<std::string> lookup_host(const std::string& host) {
  if (is_numeric_host(host)) return host;
  AddrInfo ai;
  if (auto r = resolve(host, 0, false, ai); !r) return r.error();
  const addrinfo* pick = ai.head;
  for (const addrinfo* a = ai.head; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, pick->ai_addr, pick->ai_addrlen);
  const std::string address = format_address(ss);
  return address.substr(0, address.rfind(':'));
}

Result<std::unique_ptr<Socket>> tcp_connect(const std::string& host, std::uint16_t port) {
  std::string peer;
  auto fd = for_each_address(host, port, false, "connect to", [&](int fd, const addrinfo& a) {
    tune(fd);
    sockaddr_storage ss{};
    std::memcpy(&ss, a.ai_addr, a.ai_addrlen);
    peer = format_address(ss);
    return ::connect(fd, a.ai_addr, a.ai_addrlen) == 0 || errno == EINPROGRESS;
  });
  if (!fd) return fd.error();
  return io::make_stream_socket(std::move(*fd), peer);
}

Result<std::unique_ptr<Listener>> tcp_listen(const std::string& host, std::uint16_t port) {
  auto fd = for_each_address(host, port, true, "listen on", [](int fd, const addrinfo& a) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    return ::bind(fd, a.ai_addr, a.ai_addrlen) == 0 && ::listen(fd, 128) == 0;
  });
  if (!fd) return fd.error();
  return std::unique_ptr<Listener>(std::make_unique<TcpListener>(std::move(*fd)));
}

}  // namespace convoy
