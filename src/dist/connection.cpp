#include "dist/connection.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "dist/byte_order.hpp"
#include "dist/dist_flags.hpp"

namespace convoy::dist {
namespace {
// Until the handshake is done the buffer only ever holds handshake messages (at most
// Handshake::kMaxMessage + 2 bytes each), so an unauthenticated connection costs 4 KiB;
// once up it grows as frames need room.
constexpr std::size_t kHandshakeBuffer = 4 * 1024;
constexpr std::size_t kMinReadRoom = 16 * 1024;
// Per readiness event, read at most this much before letting other links run.
constexpr std::size_t kMaxReadPerEvent = 1024 * 1024;
constexpr std::uint8_t kPassThrough = 112;  // 'p'
}  // namespace

Connection::Connection(std::unique_ptr<Socket> socket, Handshake handshake, bool connecting,
                       const Clock& clock, ConnectionTimeouts timeouts, ConnectionEvents& events,
                       ConnectionLimits limits)
    : socket_(std::move(socket)),
      peer_address_(socket_->peer_address()),
      handshake_(std::move(handshake)),
      state_(connecting ? State::connecting : State::handshaking),
      clock_(clock),
      timeouts_(timeouts),
      events_(events),
      limits_(limits),
      in_(kHandshakeBuffer) {
  const auto now = clock_.now();
  setup_deadline_ = now + timeouts_.connect_and_handshake;
  last_recv_ = now;
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
    const std::size_t min_room = state_ == State::up ? kMinReadRoom : kHandshakeBuffer / 2;
    if (in_.size() - in_end_ < min_room) {
      // Slide unread bytes to the front; grow only if a large frame really needs it.
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
      if (in_.size() - in_end_ < min_room) in_.resize(in_.size() * 2);
    }
    const auto r = socket_->read({in_.data() + in_end_, in_.size() - in_end_});
    switch (r.status) {
      case IoResult::Status::ok:
        in_end_ += r.bytes;
        total += r.bytes;
        bytes_in_ += r.bytes;
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
  } else if (peer_closed_ && state_ == State::handshaking && handshake_.awaits_challenge_ack()) {
    close(make_error(Errc::bad_cookie,
                     fmt::format("{} closed the connection after our challenge reply, so it "
                                 "refused our digest: the cookie may be wrong",
                                 peer_name())));
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
    last_recv_ = clock_.now();
    // The handshake counts as the last read (OTP's counters start at zero instead, so a peer
    // that never sends a byte after the handshake is never found dead).
    read_at_check_ = bytes_in_;
    written_at_check_ = bytes_out_;
    next_check_ = last_recv_ + tick_interval();
    events_.on_up(*this);
  }
}

void Connection::cut_frames() {
  while (state_ == State::up && in_end_ - in_begin_ >= 4) {
    const std::size_t len = wire::get32(in_.data() + in_begin_);
    if (len == 0) {  // tick
      in_begin_ += 4;
      observe_peer_tick();
      continue;
    }
    if (len > limits_.max_frame) {
      return close(make_error(Errc::limit_exceeded,
                              fmt::format("{} sent a frame of {} bytes (the frame limit is {})",
                                          peer_name(), len, limits_.max_frame)));
    }
    if (in_end_ - in_begin_ < 4 + len) break;
    const std::span<const std::uint8_t> frame(in_.data() + in_begin_ + 4, len);
    in_begin_ += 4 + len;
    ++frames_in_;
    data_since_peer_tick_ = true;
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
  bytes_out_ += 5 + body.size();
  if (out_.size() - out_begin_ > limits_.max_backlog) {
    close(make_error(Errc::limit_exceeded,
                     fmt::format("{} is not reading: more than {} bytes queued for it", peer_name(),
                                 limits_.max_backlog)));
  }
}

void Connection::flush() {
  while (state_ != State::closed && state_ != State::connecting && out_begin_ < out_.size()) {
    const auto r = socket_->write({out_.data() + out_begin_, out_.size() - out_begin_});
    if (r.status == IoResult::Status::ok) {
      out_begin_ += r.bytes;
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
  if (now >= next_check_) tick_check(now);
}

std::chrono::milliseconds Connection::tick_interval() const noexcept {
  return std::max(timeouts_.net_ticktime / kTickIntensity, std::chrono::milliseconds(1));
}

// dist_util:send_tick/2 of OTP 25, one check per tick interval.
void Connection::tick_check(Clock::time_point now) {
  next_check_ += tick_interval();
  if (next_check_ <= now) next_check_ = now + tick_interval();  // a late check does not repeat
  const int t = tick_ + 1;
  // Paused by back-pressure, the silence is ours: count the peer as heard from.
  const bool read_any = bytes_in_ != read_at_check_ || read_paused_;
  if (!read_any && ticked_ == t) {
    const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_recv_);
    return close(make_error(
        Errc::timeout,
        fmt::format("{} silent for more than net_ticktime ({} s): nothing read for {} ms{}",
                    peer_name(), timeouts_.net_ticktime.count() / 1000, silent.count(),
                    tick_hint(true))));
  }
  const bool wrote = bytes_out_ != written_at_check_;
  const bool pending = out_begin_ != out_.size();
  // A hidden peer (a C node) may only answer ticks, so it is ticked whenever it was quiet.
  const bool hidden_peer = (peer_flags() & kPublished) == 0;
  if ((!wrote && !pending) || (hidden_peer && !read_any)) {
    wire::put32(out_, 0);  // tick: an empty frame
    bytes_out_ += 4;
    flush();
    if (state_ == State::closed) return;
  }
  if (read_any) ticked_ = t;
  tick_ = t % kTickIntensity;
  read_at_check_ = bytes_in_;
  written_at_check_ = bytes_out_;
}

void Connection::observe_peer_tick() {
  const auto now = clock_.now();
  // Only back-to-back ticks measure the peer's tick interval: OTP sends one per interval
  // in which it wrote nothing else.
  if (last_peer_tick_ && !data_since_peer_tick_) {
    peer_tick_interval_ =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - *last_peer_tick_);
    if (!tick_hint_logged_) {
      if (auto hint = tick_hint(false); !hint.empty()) {
        tick_hint_logged_ = true;
        spdlog::warn("{}{}", peer_name(), hint);
      }
    }
  }
  last_peer_tick_ = now;
  data_since_peer_tick_ = false;
}

std::string Connection::tick_hint(bool timed_out) const {
  const double ours = static_cast<double>(timeouts_.net_ticktime.count()) / 1000.0;
  if (!peer_tick_interval_) {
    if (!timed_out || last_peer_tick_) return {};
    return fmt::format(
        "; it sent no tick since the link came up: if its net_ticktime is longer than ours "
        "({:g} s), it ticks too rarely for us (OTP expects the same net_ticktime on every node)",
        ours);
  }
  // An OTP node ticks every net_ticktime / net_tickintensity (4 unless configured).
  const double theirs = static_cast<double>(peer_tick_interval_->count()) * kTickIntensity / 1000.0;
  if (theirs >= 0.8 * ours && theirs <= 1.25 * ours) return {};
  return fmt::format(
      "{} ticks every {} ms, as a node with a net_ticktime of about {:.0f} s does; ours is {:g} "
      "s. OTP expects the same net_ticktime on every node: {}",
      timed_out ? "; it" : "", peer_tick_interval_->count(), theirs, ours,
      theirs > ours ? "its ticks can come too late for us, and we drop the link"
                    : "our ticks can come too late for it, and it drops the link");
}

Clock::time_point Connection::next_deadline() const noexcept {
  switch (state_) {
    case State::connecting:
    case State::handshaking:
      return setup_deadline_;
    case State::up:
      return next_check_;
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
