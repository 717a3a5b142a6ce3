#include "dist/connection.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "dist/byte_order.hpp"

namespace convoy::dist {
namespace {
constexpr std::size_t kMinReadRoom = 16 * 1024;
constexpr std::size_t kInitialBuffer = 64 * 1024;
// Per readiness event, read at most this much before letting other links run.
constexpr std::size_t kMaxReadPerEvent = 1024 * 1024;
constexpr std::uint8_t kPassThrough = 112;  // 'p'
}  // namespace

Connection::Connection(std::unique_ptr<Socket> socket, Handshake handshake, bool connecting,
                       const Clock& clock, ConnectionTimeouts timeouts, ConnectionEvents& events)
    : socket_(std::move(socket)),
      peer_address_(socket_->peer_address()),
      handshake_(std::move(handshake)),
      state_(connecting ? State::connecting : State::handshaking),
      clock_(clock),
      timeouts_(timeouts),
      events_(events),
      in_(kInitialBuffer) {
  const auto now = clock_.now();
  setup_deadline_ = now + timeouts_.connect_and_handshake;
  last_recv_ = last_send_ = now;
  if (!connecting) start_handshake();
}

bool Connection::wants_write() const noexcept {
  return state_ == State::connecting || (state_ != State::closed && out_begin_ < out_.size());
}

void Connection::start_handshake() {
  state_ = State::handshaking;
  handshake_.start(out_);
  flush();
}

void Connection::on_writable() {
  if (state_ == State::connecting) {
    const int err = socket_->connect_result();
    if (err == EINPROGRESS) return;
    if (err != 0) {
      return close(make_error(Errc::io_error, fmt::format("connect to {} failed: {}", peer_name(),
                                                          std::strerror(err))));
    }
    return start_handshake();
  }
  flush();
}

void Connection::fill_read_buffer() {
  std::size_t total = 0;
  while (state_ != State::closed && total < kMaxReadPerEvent) {
    if (in_.size() - in_end_ < kMinReadRoom) {
      // Slide unread bytes to the front; grow only if a large frame really needs it.
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
      if (in_.size() - in_end_ < kMinReadRoom) in_.resize(in_.size() * 2);
    }
    const auto r = socket_->read({in_.data() + in_end_, in_.size() - in_end_});
    switch (r.status) {
      case IoResult::Status::ok:
        in_end_ += r.bytes;
        total += r.bytes;
        last_recv_ = clock_.now();
        continue;
      case IoResult::Status::would_block:
        return;
      case IoResult::Status::eof:
        peer_closed_ = true;
        return;
      case IoResult::Status::error:
        read_error_ = r.err;
        return;
    }
  }
}

void Connection::on_readable() {
  if (state_ == State::closed || state_ == State::connecting) return;
  fill_read_buffer();
  if (state_ == State::handshaking) drive_handshake();
  if (state_ == State::up) cut_frames();
  if (state_ == State::closed) return;
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  if (read_error_ != 0) {
    close(make_error(Errc::io_error, fmt::format("read from {} failed: {}", peer_name(),
                                                 std::strerror(read_error_))));
  } else if (peer_closed_) {
    close(make_error(Errc::closed, fmt::format("{} closed the connection", peer_name())));
  }
}

void Connection::drive_handshake() {
  std::size_t consumed = 0;
  const auto st = handshake_.feed({in_.data() + in_begin_, in_end_ - in_begin_}, consumed, out_);
  in_begin_ += consumed;
  if (st == Handshake::State::failed) {
    flush();  // deliver a refusal status, if the handshake produced one
    return close(handshake_.error());
  }
  flush();
  if (st == Handshake::State::done && state_ == State::handshaking) {
    state_ = State::up;
    last_recv_ = last_send_ = clock_.now();
    events_.on_up(*this);
  }
}

void Connection::cut_frames() {
  while (state_ == State::up && in_end_ - in_begin_ >= 4) {
    const std::size_t len = wire::get32(in_.data() + in_begin_);
    if (len == 0) {  // tick
      in_begin_ += 4;
      continue;
    }
    if (len > kMaxFrame) {
      return close(make_error(
          Errc::protocol_error,
          fmt::format("{} sent a frame of {} bytes (limit {})", peer_name(), len, kMaxFrame)));
    }
    if (in_end_ - in_begin_ < 4 + len) break;
    const std::span<const std::uint8_t> frame(in_.data() + in_begin_ + 4, len);
    in_begin_ += 4 + len;
    ++frames_in_;
    if (frame[0] != kPassThrough) {
      // Only pass-through frames exist without an atom cache (which we do not advertise).
      spdlog::warn("dropping a frame from {} without the pass-through byte (starts with {})",
                   peer_name(), frame[0]);
      continue;
    }
    events_.on_frame(*this, frame.subspan(1));
  }
}

void Connection::send_frame(std::span<const std::uint8_t> body) {
  if (state_ != State::up) return;
  wire::put32(out_, static_cast<std::uint32_t>(body.size() + 1));
  out_.push_back(kPassThrough);
  out_.insert(out_.end(), body.begin(), body.end());
  if (out_.size() - out_begin_ > kMaxBacklog) {
    close(make_error(Errc::io_error, fmt::format("{} is not reading: more than {} bytes queued",
                                                 peer_name(), kMaxBacklog)));
  }
}

void Connection::flush() {
  while (state_ != State::closed && state_ != State::connecting && out_begin_ < out_.size()) {
    const auto r = socket_->write({out_.data() + out_begin_, out_.size() - out_begin_});
    if (r.status == IoResult::Status::ok) {
      out_begin_ += r.bytes;
      last_send_ = clock_.now();
      continue;
    }
    if (r.status == IoResult::Status::would_block) break;
    return close(make_error(
        Errc::io_error, fmt::format("write to {} failed: {}", peer_name(), std::strerror(r.err))));
  }
  if (out_begin_ == out_.size()) {
    out_.clear();
    out_begin_ = 0;
  } else if (out_begin_ > (1u << 20) && out_begin_ > out_.size() / 2) {
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_begin_));
    out_begin_ = 0;
  }
}

void Connection::on_timer() {
  if (state_ == State::closed) return;
  const auto now = clock_.now();
  if (state_ != State::up) {
    if (now >= setup_deadline_) {
      close(
          make_error(Errc::timeout, fmt::format("connection setup with {} timed out after {} ms",
                                                peer_name().empty() ? peer_address() : peer_name(),
                                                timeouts_.connect_and_handshake.count())));
    }
    return;
  }
  if (now - last_recv_ > timeouts_.net_ticktime) {
    return close(
        make_error(Errc::timeout, fmt::format("{} silent for more than net_ticktime ({} s)",
                                              peer_name(), timeouts_.net_ticktime.count() / 1000)));
  }
  if (now - last_send_ >= timeouts_.net_ticktime / 4 && out_begin_ == out_.size()) {
    wire::put32(out_, 0);  // tick: an empty frame
    flush();
    last_send_ = now;
  }
}

Clock::time_point Connection::next_deadline() const noexcept {
  switch (state_) {
    case State::connecting:
    case State::handshaking:
      return setup_deadline_;
    case State::up:
      return std::min(last_recv_ + timeouts_.net_ticktime + std::chrono::milliseconds(1),
                      last_send_ + timeouts_.net_ticktime / 4);
    case State::closed:
      break;
  }
  return Clock::time_point::max();
}

void Connection::close(Error why) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  socket_.reset();
  out_.clear();
  out_begin_ = 0;
  events_.on_down(*this, why);
}

}  // namespace convoy::dist
