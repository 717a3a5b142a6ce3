#pragma once
// Node::Impl: the node's state and its event loop, shared by the files that implement it:
// node.cpp (loop, links to other nodes, public API), node_processes.cpp (local processes,
// links, monitors, exit signals), node_dispatch.cpp (incoming control messages) and
// node_rpc.cpp (spawn requests for rpc/erpc and the rex server). Loop thread only.
#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include "connection.hpp"
#include "control.hpp"
#include "convoy/clock.hpp"
#include "convoy/node.hpp"
#include "convoy/socket.hpp"
#include "dist_flags.hpp"
#include "ei/identity.hpp"
#include "timer_queue.hpp"

namespace convoy {

using dist::Connection;
using dist::Handshake;

// A file descriptor the loop owns (eventfd, signalfd).
class OwnedFd {
 public:
  explicit OwnedFd(int fd = -1) noexcept : fd_(fd) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

inline Term atom(std::string_view a) { return Term::atom(a); }

struct Node::Impl final : dist::ConnectionEvents {
  struct Link {
    std::unique_ptr<Connection> conn;
    // Set when an accepted link for the same peer won a simultaneous connect: the losing
    // dial goes down without failing what waits for that peer.
    bool superseded = false;
  };
  // What a monitor reports: who watches, and the object its 'DOWN' names (the pid, or
  // {Name, Node} for a local watcher of a name; the pid or name atom as the remote watcher
  // sent it in MONITOR_P).
  struct Watch {
    Pid watcher;
    Term object;
  };
  struct Process {
    Mailbox mailbox;
    std::string registered_name;
    bool trap_exit = false;
    std::set<Pid> links;                // local or remote processes
    std::map<Ref, Watch> monitored_by;  // monitors others hold on this process
    std::map<Ref, Pid> monitoring;      // monitors this process holds on local processes
  };
  // A monitor a local process holds on a process of another node.
  struct RemoteMonitor {
    Pid watcher;
    std::string node;
    Term target;  // what MONITOR_P named: pid or name atom
    Term object;  // what 'DOWN' reports: pid or {Name, Node}
  };

  Impl(Node& self, NodeOptions opts, ei::Identity identity, std::uint32_t creation,
       std::unique_ptr<Listener> listener, OwnedFd wake)
      : node(self),
        options(std::move(opts)),
        clock(options.clock ? *options.clock : steady_clock),
        identity(std::move(identity)),
        creation(creation),
        listener(std::move(listener)),
        wake(std::move(wake)),
        rng(std::random_device{}()),
        system_pid(this->identity.make_pid()) {}

  Node& node;
  NodeOptions options;
  SteadyClock steady_clock;
  const Clock& clock;
  ei::Identity identity;
  std::uint32_t creation;
  std::unique_ptr<Listener> listener;
  OwnedFd wake;
  OwnedFd signals;
  std::mt19937 rng;
  Pid system_pid;  // sender of messages C++ code sends without a process

  std::vector<std::unique_ptr<Link>> links;
  std::unordered_map<std::string, Link*> by_name;  // up links and dials in progress
  std::unordered_map<std::string, std::deque<std::vector<std::uint8_t>>> pending;
  std::unordered_map<std::string, std::vector<std::function<void(Status)>>> connect_waiters;
  std::vector<std::function<void(const std::string&, bool)>> watchers;

  std::map<std::pair<std::uint32_t, std::uint32_t>, std::shared_ptr<Process>> processes;
  std::unordered_map<std::string, Pid> names;
  std::map<Ref, RemoteMonitor> remote_monitors;
  std::map<std::tuple<std::string, std::string, std::uint32_t>, RpcFunction> functions;
  std::uint64_t next_unlink_id = 1;
  std::deque<std::pair<Pid, Term>> local_queue;
  TimerQueue<std::function<void(Node&)>> timers;

  std::mutex posted_mutex;
  std::vector<std::function<void(Node&)>> posted;
  std::atomic<bool> stop_requested{false};
  std::vector<std::uint8_t> scratch;

  // --- identity helpers -------------------------------------------------------------------
  bool is_local(const Pid& p) const {
    return p.node == options.name.str() && p.creation == creation;
  }
  std::shared_ptr<Process> find_process(const Pid& p) const {
    if (!is_local(p)) return nullptr;
    const auto it = processes.find({p.num, p.serial});
    return it == processes.end() ? nullptr : it->second;
  }

  dist::HandshakeParams handshake_params() const {
    return {options.name.str(), options.cookie, dist::kOurFlags, creation};
  }
  Handshake::Random random_fn() {
    return [this] { return static_cast<std::uint32_t>(rng()); };
  }
  dist::ConnectionTimeouts timeouts() const {
    return {options.setup_timeout,
            std::chrono::duration_cast<std::chrono::milliseconds>(options.net_ticktime)};
  }

  // --- links -----------------------------------------------------------------------------
  Link* link_for(const Connection& c) {
    for (auto& l : links) {
      if (l->conn.get() == &c) return l.get();
    }
    return nullptr;
  }

  std::string admit(const std::string& peer) {
    const auto it = by_name.find(peer);
    if (it == by_name.end()) return "ok";
    Link* existing = it->second;
    if (existing->conn->is_up()) {
      // A peer with a healthy link never dials again; a new dial means it lost the old one
      // (restart, or a link it already dropped): replace ours.
      spdlog::info("{} reconnected; replacing the old link", peer);
      existing->conn->close(make_error(Errc::closed, "replaced by a new link from the peer"));
      return "ok";
    }
    // Both sides are dialling each other. As in dist_util, the greater name keeps its own
    // dial and refuses the other's.
    if (options.name.str() > peer) return "nok";
    existing->superseded = true;
    by_name.erase(it);
    existing->conn->close(make_error(Errc::closed, "simultaneous connect: peer's link wins"));
    return "ok_simultaneous";
  }

  void accept_pending() {
    for (int i = 0; i < 64; ++i) {  // bounded so a connect storm cannot starve the links
      auto r = listener->accept();
      if (!r) {
        spdlog::warn("accept failed: {}", r.error().message);
        return;
      }
      if (!*r) return;
      auto hs = Handshake::acceptor(handshake_params(), random_fn(),
                                    [this](const std::string& peer) { return admit(peer); });
      auto link = std::make_unique<Link>();
      spdlog::debug("accepted a connection from {}", (*r)->peer_address());
      link->conn = std::make_unique<Connection>(std::move(*r), std::move(hs), false, clock,
                                                timeouts(), *this);
      links.push_back(std::move(link));
    }
  }

  void dial(const NodeName& peer) {
    auto sock = tcp_connect(std::string(peer.host()), peer.port());
    if (!sock) {
      fail_waiters(peer.str(), sock.error());
      return;
    }
    spdlog::debug("dialling {} at {}:{}", peer.str(), peer.host(), peer.port());
    auto hs = Handshake::initiator(handshake_params(), peer.str(), random_fn());
    auto link = std::make_unique<Link>();
    link->conn = std::make_unique<Connection>(std::move(*sock), std::move(hs), true, clock,
                                              timeouts(), *this);
    by_name[peer.str()] = link.get();
    links.push_back(std::move(link));
  }

  void fail_waiters(const std::string& peer, const Error& why) {
    node_lost(peer);  // monitors and links that waited for this link see noconnection
    if (auto it = pending.find(peer); it != pending.end()) {
      if (!it->second.empty()) {
        spdlog::warn("dropping {} message(s) queued for {}: {}", it->second.size(), peer,
                     why.message);
      }
      pending.erase(it);
    }
    if (auto it = connect_waiters.find(peer); it != connect_waiters.end()) {
      auto waiters = std::move(it->second);
      connect_waiters.erase(it);
      for (auto& w : waiters) w(Status(why));
    }
  }

  void on_up(Connection& c) override {
    const std::string peer = c.peer_name();
    Link* link = link_for(c);
    if (auto it = by_name.find(peer); it != by_name.end() && it->second != link) {
      // Only reachable if both sides' admit decisions raced; keep the link that is up.
      if (it->second->conn->is_up()) {
        c.close(make_error(Errc::closed, "duplicate link"));
        return;
      }
      it->second->superseded = true;
      it->second->conn->close(make_error(Errc::closed, "duplicate dial"));
    }
    by_name[peer] = link;
    spdlog::info("link up: {} ({}, {})", peer, c.is_initiator() ? "outbound" : "inbound",
                 c.peer_address());
    if (auto it = pending.find(peer); it != pending.end()) {
      for (auto& frame : it->second) c.send_frame(frame);
      pending.erase(it);
    }
    if (auto it = connect_waiters.find(peer); it != connect_waiters.end()) {
      auto waiters = std::move(it->second);
      connect_waiters.erase(it);
      for (auto& w : waiters) w(Status());
    }
    for (auto& w : std::vector(watchers)) w(peer, true);
  }

  void on_down(Connection& c, const Error& why) override {
    Link* link = link_for(c);
    const std::string peer = c.peer_name();
    const bool was_up = c.handshake().state() == Handshake::State::done;
    const auto it = by_name.find(peer);
    const bool registered = it != by_name.end() && it->second == link;
    if (registered) by_name.erase(it);
    if (link && link->superseded) {
      // A dial that lost to the peer's own link: what waits for the peer goes to that link.
      spdlog::debug("dial to {} superseded: {}", peer, why.message);
      return;
    }
    if (!registered) {
      // An accepted handshake that failed.
      if (!was_up && (why.code == make_error_code(Errc::bad_cookie) || !c.is_initiator())) {
        spdlog::warn("inbound connection from {} failed: {}",
                     peer.empty() ? c.peer_address() : peer, why.message);
      }
      return;
    }
    if (was_up) {
      spdlog::warn("link down: {}: {}", peer, why.message);
      node_lost(peer);
      for (auto& w : std::vector(watchers)) w(peer, false);
    } else if (c.handshake().lost_simultaneous()) {
      // The peer's inbound link takes over: what waits for this peer stays queued for it,
      // unless that link has not come up within the setup timeout.
      spdlog::debug("simultaneous connect with {}: waiting for its link", peer);
      timers.add(clock.now() + options.setup_timeout, [this, peer, why](Node&) {
        if (!by_name.contains(peer)) fail_waiters(peer, why);
      });
    } else {
      spdlog::warn("cannot connect to {}: {}", peer, why.message);
      fail_waiters(peer, why);
    }
  }

  void on_frame(Connection& c, std::span<const std::uint8_t> frame) override {
    std::size_t used = 0;
    if (frame.empty() || frame[0] != 112) {
      spdlog::warn("dropping a frame from {} without the pass-through header", c.peer_name());
      return;
    }
    auto control = decode(frame.subspan(1), &used);
    if (!control) {
      spdlog::warn("dropping a frame from {}: bad control message: {}", c.peer_name(),
                   control.error().message);
      return;
    }
    const auto rest = frame.subspan(1 + used);
    std::optional<Term> payload;
    if (!rest.empty()) {
      auto p = decode(rest, &used);
      if (!p) {
        spdlog::warn("dropping a message from {}: {} (control {})", c.peer_name(),
                     p.error().message, control->to_string());
        return;
      }
      payload = std::move(*p);
    }
    dispatch(c, *control, payload);
  }

  // --- node_dispatch.cpp: one incoming control message ------------------------------------
  void dispatch(Connection& c, const Term& control, const std::optional<Term>& payload);

  // --- node_processes.cpp: processes, links, monitors, exit signals ------------------------
  Pid spawn(Mailbox mailbox, ProcessOptions options);
  void exit_process(const Pid& pid, const Term& reason);
  // An exit signal from `from` to the local `to` (a link's, when via_link; else exit/2).
  void exit_signal(const Pid& to, const Pid& from, const Term& reason, bool via_link);
  Ref monitor(const Pid& watcher, const Term& target, const std::string& node, Term object);
  void demonitor(const Pid& watcher, const Ref& ref);
  void down(const Pid& watcher, const Ref& ref, const Term& object, const Term& reason);
  // The link to `node` is gone (or never came up): monitors and links across it fire.
  void node_lost(const std::string& node);
  // A monitor or link request from a peer (MONITOR_P / DEMONITOR_P / LINK / UNLINK_ID).
  void remote_monitor(Connection& c, const Pid& from, const Term& target, const Ref& ref);
  void remote_demonitor(const Term& target, const Ref& ref);
  void remote_link(Connection& c, const Pid& from, const Pid& to);
  std::shared_ptr<Process> resolve(const Term& pid_or_name) const;

  // --- node_rpc.cpp: rpc / erpc spawn requests and the rex server --------------------------
  void spawn_request(Connection& c, const Term& control, const std::optional<Term>& args);
  // Runs M:F(Args) from the function table; throws nothing. Returns {ok, Value} or
  // {error, Class, Reason, Stack} as erpc reports them.
  Term run_function(const Term& module, const Term& function, const Term& args);
  void install_rex();

  void deliver(const Pid& to, const Term& message) {
    if (!find_process(to)) return;  // as in Erlang, a send to a dead pid vanishes
    local_queue.emplace_back(to, message);
  }

  void send_control(Connection& c, const Term& control, const Term* payload = nullptr) {
    scratch.clear();
    encode_append(control, scratch);
    if (payload) encode_append(*payload, scratch);
    c.send_frame(scratch);
  }

  // Routes a frame to `node`: straight onto an up link, else queued while one is set up.
  Status route(const std::string& node, const Term& control, const Term* payload = nullptr) {
    if (auto it = by_name.find(node); it != by_name.end() && it->second->conn->is_up()) {
      send_control(*it->second->conn, control, payload);
      return {};
    }
    auto peer = NodeName::parse(node);
    if (!peer) return peer.error();
    auto& queue = pending[node];
    if (queue.size() >= options.max_pending_per_peer) {
      return make_error(
          Errc::not_connected,
          fmt::format("{} messages already wait for a link to {}", queue.size(), node));
    }
    std::vector<std::uint8_t> frame;
    encode_append(control, frame);
    if (payload) encode_append(*payload, frame);
    queue.push_back(std::move(frame));
    if (!by_name.contains(node)) dial(*peer);
    return {};
  }

  bool drain_local_queue() {
    // Only what is queued now: handlers that message each other cannot starve the sockets.
    const bool any = !local_queue.empty();
    for (std::size_t n = local_queue.size(); n > 0 && !local_queue.empty(); --n) {
      auto [pid, msg] = std::move(local_queue.front());
      local_queue.pop_front();
      if (auto p = find_process(pid)) p->mailbox(node, pid, msg);
    }
    return any;
  }

  bool run_posted() {
    std::vector<std::function<void(Node&)>> tasks;
    {
      std::lock_guard lock(posted_mutex);
      tasks.swap(posted);
    }
    for (auto& t : tasks) t(node);
    return !tasks.empty();
  }

  bool fire_timers() {
    const auto now = clock.now();
    bool any = false;
    for (int i = 0; i < 1024; ++i) {
      auto task = timers.pop_due(now);
      if (!task) break;
      (*task)(node);
      any = true;
    }
    for (auto& l : links) l->conn->on_timer();
    return any;
  }

  void flush_all() {
    for (auto& l : links) {
      if (l->conn->wants_write() && !l->conn->is_closed() &&
          l->conn->state() != Connection::State::connecting) {
        l->conn->flush();
      }
    }
  }

  void reap() {
    std::erase_if(links, [](const auto& l) { return l->conn->is_closed(); });
  }

  int poll_timeout_ms(Clock::time_point until) {
    if (!local_queue.empty() || stop_requested.load()) return 0;
    {
      std::lock_guard lock(posted_mutex);
      if (!posted.empty()) return 0;
    }
    auto deadline = until;
    if (auto t = timers.next()) deadline = std::min(deadline, *t);
    for (auto& l : links) deadline = std::min(deadline, l->conn->next_deadline());
    if (deadline == Clock::time_point::max()) return 1000;
    const auto now = clock.now();
    if (deadline <= now) return 0;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    return static_cast<int>(std::min<long long>(ms, 1000));
  }

  // One iteration: run ready work, wait for I/O at most until the next deadline.
  // `until` caps the wait (run_until's limit); run() passes time_point::max().
  void step(Clock::time_point until = Clock::time_point::max()) {
    // After doing work, only peek at the sockets: the work may have satisfied a run_until
    // condition, or produced more local messages.
    // Each must run every turn: no short-circuit.
    const bool ran_tasks = run_posted();
    const bool ran_messages = drain_local_queue();
    const bool ran_timers = fire_timers();
    const bool busy = ran_tasks || ran_messages || ran_timers;
    flush_all();
    reap();

    std::vector<pollfd> fds;
    fds.reserve(links.size() + 3);
    fds.push_back({wake.get(), POLLIN, 0});
    fds.push_back({listener->fd(), POLLIN, 0});
    if (signals.get() >= 0) fds.push_back({signals.get(), POLLIN, 0});
    const std::size_t first_link = fds.size();
    std::vector<Connection*> polled;
    polled.reserve(links.size());
    for (auto& l : links) {
      short events = POLLIN;
      if (l->conn->wants_write()) events |= POLLOUT;
      fds.push_back({l->conn->fd(), events, 0});
      polled.push_back(l->conn.get());
    }
    const int n = ::poll(fds.data(), fds.size(), busy ? 0 : poll_timeout_ms(until));
    if (n < 0) {
      if (errno != EINTR) spdlog::error("poll failed: {}", std::strerror(errno));
      return;
    }
    if (n == 0) return;
    if (fds[0].revents & POLLIN) {
      std::uint64_t v = 0;
      [[maybe_unused]] auto r = ::read(wake.get(), &v, sizeof v);
    }
    if (signals.get() >= 0 && (fds[2].revents & POLLIN)) {
      signalfd_siginfo si{};
      if (::read(signals.get(), &si, sizeof si) == sizeof si) {
        spdlog::info("received signal {}, stopping", si.ssi_signo);
        stop_requested = true;
      }
    }
    for (std::size_t i = 0; i < polled.size(); ++i) {
      const short re = fds[first_link + i].revents;
      Connection* c = polled[i];
      if (re == 0 || c->is_closed()) continue;
      if (re & (POLLOUT | POLLERR | POLLHUP)) {
        if (c->state() == Connection::State::connecting) {
          c->on_writable();
          continue;
        }
        if (re & POLLOUT) c->on_writable();
      }
      if (re & (POLLIN | POLLERR | POLLHUP)) c->on_readable();
    }
    if (fds[1].revents & POLLIN) accept_pending();
    flush_all();
  }

  void shutdown_links() {
    for (auto& l : links) {
      if (!l->conn->is_closed()) {
        l->conn->flush();
        l->conn->close(make_error(Errc::closed, "node stopping"));
      }
    }
    reap();
  }
};

}  // namespace convoy
