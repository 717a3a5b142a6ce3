#pragma once
// Node: a distribution peer without epmd. It listens on the port its own name carries,
// dials peers on the ports their names carry, runs every link in one event loop, and
// delivers messages to local processes (C++ mailboxes).
//
// Threading: run() drives the loop on the calling thread; every other member function must
// be called on that thread (i.e. from handlers, posted tasks or before run()), except
// post() and stop(), which are safe from any thread (stop() also from a signal handler).
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "convoy/node_name.hpp"
#include "convoy/process.hpp"
#include "convoy/result.hpp"
#include "convoy/term.hpp"

namespace convoy {

class Clock;

struct NodeOptions {
  NodeName name;
  std::string cookie;
  // Address to bind; the port always comes from `name`. BEAM binds every interface too.
  std::string listen_address = "0.0.0.0";
  std::chrono::seconds net_ticktime{60};
  std::chrono::milliseconds setup_timeout{7000};  // connect + handshake, as net_setuptime
  // Messages held per peer while a link to it is being set up (sends never block).
  std::size_t max_pending_per_peer = 100000;
  const Clock* clock = nullptr;  // default: steady clock
};

// A remote or local registered name.
struct RegName {
  std::string name;
  std::string node;
};

class Node {
 public:
  // Binds the listener; fails with a clear error (e.g. port in use).
  static Result<std::unique_ptr<Node>> start(NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const NodeName& name() const noexcept;
  std::uint32_t creation() const noexcept;

  // --- loop ----------------------------------------------------------------------------
  void run();  // until stop()
  // Runs the loop until `done` returns true or `limit` passes; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit);
  void stop() noexcept;
  void post(std::function<void(Node&)> task);
  // Stop the loop on these signals (blocks them for the calling thread; use before run()).
  Status stop_on_signals(std::initializer_list<int> signals);
  // Runs `task` on the loop after `delay`; returns an id for cancel_timer().
  std::uint64_t after(std::chrono::milliseconds delay, std::function<void(Node&)> task);
  void cancel_timer(std::uint64_t id);

  // --- processes -----------------------------------------------------------------------
  Pid spawn(Mailbox mailbox);
  Result<Pid> register_process(std::string name, Mailbox mailbox);
  void exit_process(const Pid& pid);
  std::optional<Pid> whereis(std::string_view name) const;
  Ref make_ref();

  // --- messaging -----------------------------------------------------------------------
  // Sends never block: to a node without a link, the message waits while one is set up.
  Status send(const Pid& to, const Term& message);
  Status send(const RegName& to, const Term& message, const std::optional<Pid>& from = {});
  // gen_server reply: `from` is the {Pid, Tag} of a '$gen_call'.
  Status reply(const Term& from, const Term& reply);
  // gen_server:call from C++: `done` receives the reply, or timeout / decode errors.
  void call(const RegName& to, const Term& request, std::chrono::milliseconds timeout,
            std::function<void(Result<Term>)> done);
  void call(const Pid& to, const Term& request, std::chrono::milliseconds timeout,
            std::function<void(Result<Term>)> done);
  Status cast(const RegName& to, const Term& request);

  // --- links to nodes ------------------------------------------------------------------
  // Dials `peer` unless a link exists or is being set up; `done` gets the outcome.
  void connect(const NodeName& peer, std::function<void(Status)> done = {});
  void disconnect(std::string_view node);
  bool is_connected(std::string_view node) const;
  std::vector<std::string> connected_nodes() const;
  // Called with (node, true) when a link comes up and (node, false) when it goes down.
  void watch_nodes(std::function<void(const std::string& node, bool up)> watcher);

  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convoy
