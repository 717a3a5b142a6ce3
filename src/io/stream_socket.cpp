#include "io/stream_socket.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace convoy::io {
namespace {

class StreamSocket final : public Socket {
 public:
  StreamSocket(Fd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) {}
  int fd() const override { return fd_.get(); }

  IoResult read(std::span<std::uint8_t> into) override {
    for (;;) {
      const ssize_t n = ::recv(fd_.get(), into.data(), into.size(), 0);
      if (n > 0) return IoResult::ok(static_cast<std::size_t>(n));
      if (n == 0) return IoResult::eof();
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult::would_block();
      return IoResult::error(errno);
    }
  }

  IoResult write(std::span<const std::uint8_t> bytes) override {
    for (;;) {
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n >= 0) return IoResult::ok(static_cast<std::size_t>(n));
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult::would_block();
      return IoResult::error(errno);
    }
  }

  int connect_result() override {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    if (err != 0) return err;
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    // SO_ERROR is 0 both when connected and while still pending; getpeername tells them
    // apart.
    if (::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &sl) != 0) {
      return errno == ENOTCONN ? EINPROGRESS : errno;
    }
    return 0;
  }

  std::string peer_address() const override { return peer_; }

 private:
  Fd fd_;
  std::string peer_;
};

}  // namespace

std::unique_ptr<Socket> make_stream_socket(Fd fd, std::string peer_address) {
  return std::make_unique<StreamSocket>(std::move(fd), std::move(peer_address));
}

}  // namespace convoy::io
