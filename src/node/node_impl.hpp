#pragma once
// Node::Impl: what a Node is made of — its event loop (node/event_loop.hpp), its links to
// other nodes (node/link_table.hpp) and, for now, its local processes — and the turn of the
// loop that drives them. Shared by node.cpp (loop, public API), node_processes.cpp (local
// processes, links, monitors, exit signals), node_dispatch.cpp (incoming control messages)
// and node_rpc.cpp (spawn requests for rpc/erpc, the rex server). Loop thread only.
#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "convoy/clock.hpp"
#include "convoy/node.hpp"
#include "convoy/socket.hpp"
#include "dist/connection.hpp"
#include "dist/control.hpp"
#include "dist/dist_flags.hpp"
#include "ei/identity.hpp"
#include "node/event_loop.hpp"
#include "node/link_table.hpp"

namespace convoy {

inline Term atom(std::string_view a) { return Term::atom(a); }

struct Node::Impl final : node::LinkEvents {
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
       std::unique_ptr<Listener> listener, std::unique_ptr<node::EventLoop> event_loop)
      : node(self),
        options(std::move(opts)),
        identity(std::move(identity)),
        creation(creation),
        listener(std::move(listener)),
        loop(std::move(event_loop)),
        rng(std::random_device{}()),
        system_pid(this->identity.make_pid()),
        links(link_options(), *loop, *this->listener, tcp_connect, *this) {}

  Node& node;
  NodeOptions options;
  ei::Identity identity;
  std::uint32_t creation;
  std::unique_ptr<Listener> listener;
  std::unique_ptr<node::EventLoop> loop;
  std::mt19937 rng;
  Pid system_pid;  // sender of messages C++ code sends without a process
  node::LinkTable links;
  std::vector<std::function<void(const std::string&, bool)>> watchers;

  std::map<std::pair<std::uint32_t, std::uint32_t>, std::shared_ptr<Process>> processes;
  std::unordered_map<std::string, Pid> names;
  std::map<Ref, RemoteMonitor> remote_monitors;
  std::map<std::tuple<std::string, std::string, std::uint32_t>, RpcFunction> functions;
  std::uint64_t next_unlink_id = 1;
  std::deque<std::pair<Pid, Term>> local_queue;
  std::vector<std::uint8_t> scratch;
  std::vector<pollfd> fds;

  // --- identity helpers -------------------------------------------------------------------
  bool is_local(const Pid& p) const {
    return p.node == options.name.str() && p.creation == creation;
  }
  std::shared_ptr<Process> find_process(const Pid& p) const {
    if (!is_local(p)) return nullptr;
    const auto it = processes.find({p.num, p.serial});
    return it == processes.end() ? nullptr : it->second;
  }

  node::LinkTableOptions link_options() {
    return {
        .handshake = {options.name.str(), options.cookie, dist::kOurFlags, creation},
        .timeouts = {options.setup_timeout,
                     std::chrono::duration_cast<std::chrono::milliseconds>(options.net_ticktime)},
        .random = [this] { return static_cast<std::uint32_t>(rng()); },
        .max_pending_per_peer = options.max_pending_per_peer};
  }

  // --- LinkEvents ------------------------------------------------------------------------
  void on_link_up(const std::string& peer) override {
    for (auto& w : std::vector(watchers)) w(peer, true);
  }
  void on_link_down(const std::string& peer) override {
    node_lost(peer);
    for (auto& w : std::vector(watchers)) w(peer, false);
  }
  void on_unreachable(const std::string& peer) override { node_lost(peer); }

  void on_frame(const std::string& peer, std::span<const std::uint8_t> frame) override {
    std::size_t used = 0;
    if (frame.empty() || frame[0] != 112) {
      spdlog::warn("dropping a frame from {} without the pass-through header", peer);
      return;
    }
    auto control = decode(frame.subspan(1), &used);
    if (!control) {
      spdlog::warn("dropping a frame from {}: bad control message: {}", peer,
                   control.error().message);
      return;
    }
    const auto rest = frame.subspan(1 + used);
    std::optional<Term> payload;
    if (!rest.empty()) {
      auto p = decode(rest, &used);
      if (!p) {
        spdlog::warn("dropping a message from {}: {} (control {})", peer, p.error().message,
                     control->to_string());
        return;
      }
      payload = std::move(*p);
    }
    dispatch(peer, *control, payload);
  }

  // --- node_dispatch.cpp: one incoming control message ------------------------------------
  void dispatch(const std::string& peer, const Term& control, const std::optional<Term>& payload);

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
  void remote_monitor(const std::string& peer, const Pid& from, const Term& target, const Ref& ref);
  void remote_demonitor(const Term& target, const Ref& ref);
  void remote_link(const std::string& peer, const Pid& from, const Pid& to);
  std::shared_ptr<Process> resolve(const Term& pid_or_name) const;

  // --- node_rpc.cpp: rpc / erpc spawn requests and the rex server --------------------------
  void spawn_request(const std::string& peer, const Term& control, const std::optional<Term>& args);
  // Runs M:F(Args) from the function table; throws nothing. Returns {ok, Value} or
  // {error, Class, Reason, Stack} as erpc reports them.
  Term run_function(const Term& module, const Term& function, const Term& args);
  void install_rex();

  void deliver(const Pid& to, const Term& message) {
    if (!find_process(to)) return;  // as in Erlang, a send to a dead pid vanishes
    local_queue.emplace_back(to, message);
  }

  // A control message answering one that `peer` sent (acks, noproc, spawn replies).
  void reply_control(const std::string& peer, const Term& control) {
    if (auto st = route(peer, control); !st) {
      spdlog::warn("cannot answer {}: {}", peer, st.error().message);
    }
  }

  // Routes a frame to `node`: straight onto an up link, else queued while one is set up.
  Status route(const std::string& node, const Term& control, const Term* payload = nullptr) {
    scratch.clear();
    encode_append(control, scratch);
    if (payload) encode_append(*payload, scratch);
    return links.send(node, scratch);
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

  int poll_timeout_ms(Clock::time_point until) {
    if (!local_queue.empty() || loop->stop_requested() || loop->has_posted()) return 0;
    auto deadline = std::min(until, links.next_deadline());
    if (auto t = loop->next_timer()) deadline = std::min(deadline, *t);
    if (deadline == Clock::time_point::max()) return 1000;
    const auto now = loop->clock().now();
    if (deadline <= now) return 0;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    return static_cast<int>(std::min<long long>(ms, 1000));
  }

  // One turn: run ready work, wait for I/O at most until the next deadline. `until` caps
  // the wait (run_until's limit); run() passes time_point::max().
  void step(Clock::time_point until = Clock::time_point::max()) {
    // Each must run every turn: no short-circuit. After doing work, only peek at the
    // sockets: the work may have satisfied a run_until condition, or produced more.
    const bool ran_tasks = loop->run_posted();
    const bool ran_messages = drain_local_queue();
    const bool ran_timers = loop->run_due_timers();
    links.on_timers();
    const bool busy = ran_tasks || ran_messages || ran_timers;
    links.flush_all();
    links.reap();

    fds.clear();
    loop->add_fds(fds);
    const std::size_t own = fds.size();
    fds.push_back({listener->fd(), POLLIN, 0});
    links.add_fds(fds);
    const int n = ::poll(fds.data(), fds.size(), busy ? 0 : poll_timeout_ms(until));
    if (n < 0) {
      if (errno != EINTR) spdlog::error("poll failed: {}", std::strerror(errno));
      return;
    }
    if (n == 0) return;
    const std::span<const pollfd> all(fds);
    loop->handle(all.first(own));
    links.dispatch(all.subspan(own + 1));
    if (fds[own].revents & POLLIN) links.accept_pending();
    links.flush_all();
  }
};

}  // namespace convoy
