#pragma once
// Connection: one distribution link. Owns the socket, the handshake, the read buffer that
// frames are cut from, the write buffer that batches outgoing frames, and the link's timers
// (handshake deadline, and OTP's tick rule: a check every net_ticktime/4 that sends a tick
// after a quiet interval and drops a peer silent through four). It never blocks: the event loop
// calls on_readable/on_writable/on_timer and the link does what the bytes at hand allow.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "convoy/clock.hpp"
#include "convoy/socket.hpp"
#include "dist/handshake.hpp"

namespace convoy::dist {

class Connection;

class ConnectionEvents {
 public:
  virtual ~ConnectionEvents() = default;
  virtual void on_up(Connection& c) = 0;
  // A complete data frame without its length prefix and pass-through byte: the control
  // message term and the optional payload term. Valid only during the call. (Frames that
  // lack the pass-through byte are dropped here, with a warning.)
  virtual void on_frame(Connection& c, std::span<const std::uint8_t> frame) = 0;
  // Called once, when the link goes down for any reason (handshake failure included).
  virtual void on_down(Connection& c, const Error& why) = 0;
};

struct ConnectionTimeouts {
  std::chrono::milliseconds connect_and_handshake{7000};  // OTP's net_setuptime default
  std::chrono::milliseconds net_ticktime{60000};
};

struct ConnectionLimits {
  // Largest data frame accepted; a bigger length prefix closes the link before any of the
  // frame is buffered.
  std::size_t max_frame = 128u << 20;
  // A peer that stops reading while we keep producing is dropped past this much backlog.
  std::size_t max_backlog = 512u << 20;
};

class Connection {
 public:
  enum class State { connecting, handshaking, up, closed };

  // OTP's default net_tickintensity: tick checks per net_ticktime.
  static constexpr int kTickIntensity = 4;

  Connection(std::unique_ptr<Socket> socket, Handshake handshake, bool connecting,
             const Clock& clock, ConnectionTimeouts timeouts, ConnectionEvents& events,
             ConnectionLimits limits = {});
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const noexcept { return socket_ ? socket_->fd() : -1; }
  State state() const noexcept { return state_; }
  bool is_up() const noexcept { return state_ == State::up; }
  bool is_closed() const noexcept { return state_ == State::closed; }
  bool is_initiator() const noexcept { return handshake_.is_initiator(); }
  const Handshake& handshake() const noexcept { return handshake_; }
  // Peer node name: the dialled name, or for an accepted link the name it sent (once known).
  const std::string& peer_name() const noexcept { return handshake_.peer_name(); }
  std::uint64_t peer_flags() const noexcept { return handshake_.peer().flags; }
  const std::string& peer_address() const noexcept { return peer_address_; }

  // Event-loop hooks.
  bool wants_write() const noexcept;
  void on_readable();
  void on_writable();
  void on_timer();
  Clock::time_point next_deadline() const noexcept;

  // Queues one data frame: the 'p' pass-through byte is added here, `body` is the control
  // message term followed by the optional payload term. Only valid while up.
  void send_frame(std::span<const std::uint8_t> body);
  // Writes what the socket accepts now; the loop finishes the rest on POLLOUT.
  void flush();
  void close(Error why);

  std::uint64_t frames_in() const noexcept { return frames_in_; }
  // Bytes queued and not yet written.
  std::size_t output_bytes() const noexcept { return out_.size() - out_begin_; }
  // While paused the loop does not read from the link (back-pressure), and the link does
  // not count the silence that follows against the peer.
  void set_read_paused(bool paused) noexcept { read_paused_ = paused; }
  bool read_paused() const noexcept { return read_paused_; }
  std::size_t read_buffer_capacity() const noexcept { return in_.size(); }
  // The gap between the last two ticks the peer sent with nothing between them, if seen.
  std::optional<std::chrono::milliseconds> peer_tick_interval() const noexcept {
    return peer_tick_interval_;
  }

 private:
  void start_handshake();
  void drive_handshake();
  void cut_frames();
  void fill_read_buffer();
  std::chrono::milliseconds tick_interval() const noexcept;
  void tick_check(Clock::time_point now);
  void observe_peer_tick();
  // Why the peer's ticks and ours may not fit, for a log line; empty if they fit or the
  // peer's interval is unknown (at a timeout, a peer that never ticked gets a hint too).
  std::string tick_hint(bool timed_out) const;

  std::unique_ptr<Socket> socket_;
  std::string peer_address_;  // kept after close, for the logs
  Handshake handshake_;
  State state_;
  const Clock& clock_;
  ConnectionTimeouts timeouts_;
  ConnectionEvents& events_;
  ConnectionLimits limits_;
  bool read_paused_ = false;

  std::vector<std::uint8_t> in_;  // unread bytes live in [in_begin_, in_end_)
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  bool peer_closed_ = false;
  int read_error_ = 0;
  std::vector<std::uint8_t> out_;  // unsent bytes live in [out_begin_, out_.size())
  std::size_t out_begin_ = 0;

  Clock::time_point setup_deadline_;
  Clock::time_point last_recv_;
  std::uint64_t frames_in_ = 0;

  // dist_util's #tick{}: byte counts at the last check, the check counter (mod intensity)
  // and the check that last saw something read.
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;  // queued, ticks included
  std::uint64_t read_at_check_ = 0;
  std::uint64_t written_at_check_ = 0;
  int tick_ = 0;
  int ticked_ = kTickIntensity;
  Clock::time_point next_check_;

  std::optional<Clock::time_point> last_peer_tick_;
  bool data_since_peer_tick_ = false;
  std::optional<std::chrono::milliseconds> peer_tick_interval_;
  bool tick_hint_logged_ = false;
};

}  // namespace convoy::dist
