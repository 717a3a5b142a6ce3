#pragma once
// Node::Impl: what a Node is made of and the turn of the loop that drives it:
//   EventLoop     wake-ups, signals, posted tasks, timers        (node/event_loop.hpp)
//   HostResolver  host name lookups for dials, on worker threads (node/host_resolver.hpp)
//   LinkTable     links to other nodes, dials, admission         (node/link_table.hpp)
//   ProcessTable  local processes, links, monitors, exit signals (node/process_table.hpp)
// and the dispatcher between them (dispatch.cpp: typed control messages -> the tables).
// Loop thread only.
#include <poll.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "convoy/node.hpp"
#include "convoy/socket.hpp"
#include "dist/control.hpp"
#include "ei/identity.hpp"
#include "node/event_loop.hpp"
#include "node/host_resolver.hpp"
#include "node/link_table.hpp"
#include "node/process_table.hpp"

namespace convoy {

struct Node::Impl final : node::LinkEvents, node::ProcessTable::Env {
  Impl(Node& self, NodeOptions opts, ei::Identity identity, std::uint32_t creation,
       std::unique_ptr<Listener> listener, std::unique_ptr<node::EventLoop> event_loop);

  Node& node;
  NodeOptions options;
  ei::Identity identity;
  std::uint32_t creation;
  std::unique_ptr<Listener> listener;
  std::unique_ptr<node::EventLoop> loop;
  std::mt19937 rng;
  Pid system_pid;               // sender of messages C++ code sends without a process
  node::HostResolver resolver;  // dials' host lookups, off the loop
  node::LinkTable links;
  node::ProcessTable processes;
  std::vector<std::function<void(const std::string&, bool)>> watchers;
  std::map<std::tuple<std::string, std::string, std::uint32_t>, RpcFunction> functions;
  std::vector<std::uint8_t> scratch;  // encoding buffer for route()
  std::vector<pollfd> fds;            // this turn's poll set
  // Frames dropped because their sender belongs to another node than the link's; the peers
  // already reported (once per link, forgotten when it goes down).
  // Messages, bytes, spoofed frames and frames over the decode limit (the rest of
  // NodeStats is the link table's).
  NodeStats counters;
  std::unordered_set<std::string> spoof_reported;

  // --- LinkEvents ----------------------------------------------------------------------
  void on_link_up(const std::string& peer) override;
  void notify_watchers(const std::string& peer, bool up);
  void on_link_down(const std::string& peer) override;
  void on_unreachable(const std::string& peer) override;
  void on_frame(const std::string& peer, std::span<const std::uint8_t> body) override;

  // --- ProcessTable::Env ---------------------------------------------------------------
  // Encodes onto the peer's up link, or into its queue while one is set up.
  Status route(const std::string& node, const dist::ControlMessage& m,
               const Term* payload = nullptr) override;

  // --- dispatch.cpp: one incoming control message --------------------------------------
  void dispatch(const std::string& peer, const dist::Frame& frame);

  // --- rpc.cpp: rpc / erpc spawn requests and the rex server -----------------------------
  void spawn_request(const std::string& peer, const dist::SpawnRequest& request, const Term& args);
  // Runs M:F(Args) from the function table; throws nothing. Returns {ok, Value} or
  // {error, Class, Reason, Stack} as erpc reports them.
  Term run_function(const Term& module, const Term& function, const Term& args);
  Status install_rex();

  // --- the loop ------------------------------------------------------------------------
  int poll_timeout_ms(Clock::time_point until);
  // One turn: run ready work, wait for I/O at most until the next deadline. `until` caps
  // the wait (run_until's limit); run() passes time_point::max().
  void step(Clock::time_point until = Clock::time_point::max());
};

}  // namespace convoy
