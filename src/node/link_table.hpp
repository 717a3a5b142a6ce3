#pragma once
// LinkTable: the node's links to other nodes, one entry per peer name whichever side
// started it, with OTP's admission rules (dist_util.erl / net_kernel.erl):
//   - a peer already connected is answered `alive`; its new connection replaces the old
//     link only once it has proven the cookie;
//   - while we dial a peer, its own inbound handshake gets `nok` if our name is greater
//     (it will accept our dial) and `ok_simultaneous` otherwise (its link will win);
//   - an inbound handshake in progress is that peer's pending link: a connect or a send
//     to the peer waits for it instead of dialling too.
// Stricter than OTP: nothing — link, dial or waiter — is closed or superseded on behalf of
// a connection that has not proven the cookie. Messages for a peer without a link wait in a
// bounded queue while one is set up.
//
// Containers are never changed under a walk: links are walked through snapshots, and
// closed links and idle entries are removed only by reap(), between turns.
#include <poll.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/log_limiter.hpp"
#include "convoy/clock.hpp"
#include "convoy/node_name.hpp"
#include "convoy/result.hpp"
#include "convoy/socket.hpp"
#include "convoy/stats.hpp"
#include "dist/connection.hpp"
#include "node/event_loop.hpp"

namespace convoy::node {

// What the rest of the node hears from the table.
class LinkEvents {
 public:
  virtual ~LinkEvents() = default;
  virtual void on_link_up(const std::string& peer) = 0;
  // An up link went down (or was replaced by the peer's new one).
  virtual void on_link_down(const std::string& peer) = 0;
  // No link to `peer` came up for what waited for one: monitors and links across it fire.
  virtual void on_unreachable(const std::string& peer) = 0;
  // A data frame from an up link, as Connection::on_frame hands it over. Valid only during
  // the call.
  virtual void on_frame(const std::string& peer, std::span<const std::uint8_t> body) = 0;
};

// How the table reaches a peer's host. connect() must not block; a host that is a name
// goes through lookup() first, which answers later, on the loop thread (HostResolver).
struct Dialer {
  std::function<Result<std::unique_ptr<Socket>>(const std::string& address, std::uint16_t port)>
      connect;
  std::function<bool(const std::string& host)> needs_lookup;  // unset: never
  std::function<void(const std::string& host, std::function<void(Result<std::string>)> done)>
      lookup;
};

struct LinkTableOptions {
  dist::HandshakeParams handshake;
  dist::ConnectionTimeouts timeouts;
  dist::Handshake::Random random;
  std::size_t max_pending_per_peer = 100000;
  std::size_t max_pending_bytes_per_peer = 64u << 20;
  // Accepted connections that have not finished the handshake; past this a new connection
  // is closed at once (a connect storm or slowloris cannot take every descriptor).
  std::size_t max_inbound_handshakes = 128;
  // Dials (name lookups and connects) in progress at once; past this a dial fails at once,
  // so messages for a million made-up nodes cannot become a million sockets.
  std::size_t max_dials = 256;
  dist::ConnectionLimits connection{};
  // Back-pressure (convoy/limits.hpp): reading pauses on a link whose output is over the
  // first, and on every link while all output together is over the second.
  std::size_t link_output_high_water = 8u << 20;
  std::size_t node_output_high_water = 256u << 20;
};

class LinkTable {
 public:
  LinkTable(LinkTableOptions options, EventLoop& loop, Listener& listener, Dialer dialer,
            LinkEvents& events);
  ~LinkTable();
  LinkTable(const LinkTable&) = delete;
  LinkTable& operator=(const LinkTable&) = delete;

  // Dials `peer` unless a link to it is up or being set up; `done` (if any) gets the
  // outcome once known.
  void connect(const NodeName& peer, std::function<void(Status)> done);
  // One data frame body (control message + optional payload, no pass-through byte) to
  // `node`: onto its up link, or queued while a link is set up (dialling if needed).
  Status send(const std::string& node, std::span<const std::uint8_t> body);
  void disconnect(const std::string& node);
  // Closes the up link to `node` (if any) for `why`, which the link-down log line gives.
  void close(const std::string& node, const Error& why);
  bool is_connected(const std::string& node) const;
  // Links, handshakes, dials, back-pressure and the pending queues (NodeStats' link fields).
  NodeStats stats() const;
  std::vector<std::string> connected() const;  // sorted

  // --- the loop's hooks ---------------------------------------------------------------
  void accept_pending();
  // False while accepts are paused after accept() failed (out of descriptors: the pending
  // connection stays queued, so polling the listener would spin).
  bool accepting() const;
  // Appends one pollfd per link; dispatch() takes the same vector span back.
  void add_fds(std::vector<pollfd>& fds);
  void dispatch(std::span<const pollfd> fds);
  void on_timers();
  void flush_all();
  Clock::time_point next_deadline() const;
  void reap();
  // Closes every link (flushing what it can first); no dial starts meanwhile.
  void shutdown();

  struct Link;

 private:
  struct Peer {
    Link* up = nullptr;
    Link* dial = nullptr;
    std::vector<Link*> inbound;  // admitted handshakes that have not proven the cookie yet
    std::deque<std::vector<std::uint8_t>> queue;
    std::size_t queued_bytes = 0;
    std::vector<std::function<void(Status)>> waiters;
    std::uint64_t await_timer = 0;  // our dial got `nok`: waiting for the peer's own link
    std::uint64_t lookup = 0;       // our dial waits for its host's address: the lookup's id
    std::uint64_t lookup_timer = 0;
    bool idle() const {
      return !up && !dial && inbound.empty() && queue.empty() && waiters.empty() &&
             await_timer == 0 && lookup == 0;
    }
    bool setting_up() const { return dial || !inbound.empty() || await_timer != 0 || lookup != 0; }
  };

  friend struct Link;
  std::string admit(Link& link, const std::string& peer);
  void link_up(Link& link);
  void link_down(Link& link, const Error& why);
  void dial(const std::string& name, Peer& p);
  void connect_to(const std::string& name, Peer& p, const std::string& address, std::uint16_t port);
  void looked_up(const std::string& name, std::uint64_t id, Result<std::string> address,
                 std::uint16_t port);
  void cancel_lookup(Peer& p);
  std::size_t dials_in_progress() const;
  void fail(const std::string& name, Peer& p, const Error& why);
  void dial_failed(const std::string& name, Peer& p, const Error& why);
  void inbound_failed(const std::string& who, const Error& why);
  Link& add_link(std::unique_ptr<Socket> socket, bool initiator, const std::string& peer);
  std::vector<Link*> snapshot() const;
  void update_back_pressure();
  void break_node_stall();

  LinkTableOptions options_;
  EventLoop& loop_;
  Listener& listener_;
  Dialer dialer_;
  LinkEvents& events_;
  std::vector<std::unique_ptr<Link>> links_;
  std::unordered_map<std::string, Peer> peers_;
  // Consecutive failed dials per peer, for logging once per streak; bounded.
  static constexpr std::size_t kMaxDialStreaks = 4096;
  std::unordered_map<std::string, unsigned> dial_failures_;
  LogLimiter inbound_log_{10, std::chrono::seconds(1)};  // failed inbound handshakes
  // The current episode of failing accepts: how many, and when to try again.
  std::uint64_t accept_failures_ = 0;
  std::chrono::milliseconds accept_backoff_{0};
  Clock::time_point accept_resume_{};
  std::uint64_t refused_over_cap_ = 0;
  NodeStats stats_;  // the counters; stats() adds the gauges
  LogLimiter cap_log_{1, std::chrono::seconds(10)};
  std::vector<Link*> polled_;  // the links add_fds() listed, in order
  // Back-pressure: the node-wide pause, and how often reading paused.
  static constexpr std::chrono::milliseconds kNodeStallLimit{2000};
  bool node_paused_ = false;
  Clock::time_point node_paused_since_{};
  LogLimiter pause_log_{1, std::chrono::seconds(10)};
  std::uint64_t last_lookup_ = 0;
  std::size_t lookups_ = 0;  // peers with a lookup in progress
  LogLimiter dial_cap_log_{1, std::chrono::seconds(10)};
  bool stopping_ = false;
};

}  // namespace convoy::node
