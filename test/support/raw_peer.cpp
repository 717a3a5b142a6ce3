#include "raw_peer.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "dist/byte_order.hpp"
#include "dist/dist_flags.hpp"

namespace convoy::test {

RawPeer::RawPeer(std::uint16_t port, std::chrono::milliseconds read_timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(read_timeout).count();
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

RawPeer::~RawPeer() { ::close(fd_); }

bool RawPeer::write(const Bytes& b) {
  return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size());
}

void RawPeer::set_send_timeout(std::chrono::milliseconds limit) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(limit).count();
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool RawPeer::read_more() {
  std::uint8_t buf[65536];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  in_.insert(in_.end(), buf, buf + n);
  return true;
}

std::optional<Bytes> RawPeer::read_handshake_message() {
  for (int i = 0; i < 100; ++i) {
    if (in_.size() >= 2) {
      const std::size_t len = wire::get16(in_.data());
      if (in_.size() >= 2 + len) {
        Bytes body(in_.begin() + 2, in_.begin() + 2 + static_cast<std::ptrdiff_t>(len));
        in_.erase(in_.begin(), in_.begin() + 2 + static_cast<std::ptrdiff_t>(len));
        return body;
      }
    }
    if (!read_more()) return std::nullopt;
  }
  return std::nullopt;
}

std::string RawPeer::handshake_begin(const std::string& self, const std::string& peer,
                                     const std::string& cookie) {
  hs_.emplace(
      dist::Handshake::initiator({self, cookie, dist::kOurFlags, 5}, peer, [] { return 12345u; }));
  Bytes out;
  hs_->start(out);
  if (!write(out)) return "";
  std::string status;
  while (hs_->state() == dist::Handshake::State::in_progress) {
    auto msg = read_handshake_message();
    if (!msg) return status;
    if (status.empty() && !msg->empty() && (*msg)[0] == 's')
      status.assign(msg->begin() + 1, msg->end());
    out.clear();
    std::size_t used = 0;
    const Bytes framed = handshake_message(*msg);
    hs_->feed(framed, used, out);
    if (out.size() > 2 && out[2] == 'r') {  // the challenge reply: hold it for finish()
      pending_out_ = std::move(out);
      return status;
    }
    if (!out.empty() && !write(out)) return status;
  }
  return status;
}

bool RawPeer::handshake_finish() {
  if (!hs_ || !write(pending_out_)) return false;
  while (hs_->state() == dist::Handshake::State::in_progress) {
    auto msg = read_handshake_message();
    if (!msg) return false;
    Bytes out;
    std::size_t used = 0;
    hs_->feed(handshake_message(*msg), used, out);
    if (!out.empty() && !write(out)) return false;
  }
  return hs_->state() == dist::Handshake::State::done;
}

bool RawPeer::handshake(const std::string& self, const std::string& peer,
                        const std::string& cookie) {
  handshake_begin(self, peer, cookie);
  return handshake_finish();
}

std::optional<Bytes> RawPeer::read_frame() {
  for (int i = 0; i < 100; ++i) {
    while (in_.size() >= 4) {
      const std::size_t len = wire::get32(in_.data());
      if (len == 0) {
        in_.erase(in_.begin(), in_.begin() + 4);
        continue;
      }
      if (in_.size() < 4 + len) break;
      Bytes body(in_.begin() + 4, in_.begin() + 4 + static_cast<std::ptrdiff_t>(len));
      in_.erase(in_.begin(), in_.begin() + 4 + static_cast<std::ptrdiff_t>(len));
      return body;
    }
    if (!read_more()) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<dist::Frame> RawPeer::read_message() {
  auto body = read_frame();
  if (!body || body->empty() || (*body)[0] != 112) return std::nullopt;
  auto frame = dist::decode_frame(std::span(*body).subspan(1));
  if (!frame) return std::nullopt;
  return std::move(*frame);
}

bool RawPeer::wait_closed(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    std::uint8_t buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
  }
  return false;
}

Bytes RawPeer::frame(const Bytes& body) {
  Bytes out;
  wire::put32(out, static_cast<std::uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes RawPeer::handshake_message(const Bytes& body) {
  Bytes out;
  wire::put16(out, static_cast<std::uint16_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes RawPeer::name_message(const std::string& self, std::uint32_t creation) {
  Bytes body{'N'};
  wire::put64(body, dist::kOurFlags);
  wire::put32(body, creation);
  wire::put16(body, static_cast<std::uint16_t>(self.size()));
  body.insert(body.end(), self.begin(), self.end());
  return handshake_message(body);
}

Bytes RawPeer::control_frame(const Term& control, const Term* payload) {
  Bytes body{112};
  encode_append(control, body);
  if (payload) encode_append(*payload, body);
  return frame(body);
}

SilentListener::SilentListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0) {
    throw std::runtime_error("SilentListener: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
}

SilentListener::~SilentListener() {
  for (int fd : accepted_) ::close(fd);
  ::close(fd_);
}

int SilentListener::accept_all() {
  for (;;) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) break;
    accepted_.push_back(fd);
  }
  return static_cast<int>(accepted_.size());
}

}  // namespace convoy::test
