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

#include "convoy/limits.hpp"
#include "convoy/node_name.hpp"
#include "convoy/process.hpp"
#include "convoy/result.hpp"
#include "convoy/stats.hpp"
#include "convoy/term.hpp"

namespace convoy {

class Clock;
class Transport;

struct NodeOptions {
  NodeName name;
  std::string cookie;
  // Address to bind; the port always comes from `name`. BEAM binds every interface too.
  std::string listen_address = "0.0.0.0";
  std::chrono::seconds net_ticktime{60};
  std::chrono::milliseconds setup_timeout{7000};  // connect + handshake, as net_setuptime
  // Bounds on what peers can make the node hold (convoy/limits.hpp).
  Limits limits{};
  const Clock* clock = nullptr;  // default: steady clock
  // Where links come from (convoy/transport.hpp); default: TCP.
  std::shared_ptr<Transport> transport = nullptr;
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
  // The clock the node reads for ticks, timeouts and timers (NodeOptions::clock).
  const Clock& clock() const noexcept;

  // --- loop ----------------------------------------------------------------------------
  void run();  // until stop()
  // Runs the loop until `done` returns true or `limit` passes; returns done(). `limit` is
  // the caller's real time, whatever clock the node runs on.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit);
  void stop() noexcept;
  void post(std::function<void(Node&)> task);
  // Stop the loop on these signals (blocks them for the calling thread; use before run()).
  Status stop_on_signals(std::initializer_list<int> signals);
  // Runs `handler` on the loop thread when one of `signals` arrives (blocks them for the
  // calling thread and the threads it starts afterwards; use before run()).
  Status on_signals(std::initializer_list<int> signals,
                    std::function<void(Node& node, int signo)> handler);
  // Runs `task` on the loop after `delay`; returns an id for cancel_timer().
  std::uint64_t after(std::chrono::milliseconds delay, std::function<void(Node&)> task);
  void cancel_timer(std::uint64_t id);

  // --- processes -----------------------------------------------------------------------
  // A local process: a pid and a mailbox. Exit signals from links (a linked process died,
  // or exit/2 was sent to it) either arrive as {'EXIT', From, Reason} messages (trap_exit)
  // or, with a reason other than `normal`, end the process with that reason, as in Erlang.
  Pid spawn(Mailbox mailbox, ProcessOptions options = {});
  Result<Pid> register_process(std::string name, Mailbox mailbox, ProcessOptions options = {});
  // Ends a local process: its links get exit signals, its monitors 'DOWN' with `reason`.
  void exit_process(const Pid& pid, const Term& reason = Term::atom("normal"));
  bool is_alive(const Pid& pid) const;
  std::optional<Pid> whereis(std::string_view name) const;
  Ref make_ref();

  // --- links and monitors (as erlang:link/unlink/monitor/demonitor/exit) ---------------
  // `self` is the local process acting; `other` may be local or remote.
  Status link(const Pid& self, const Pid& other);
  Status unlink(const Pid& self, const Pid& other);
  // Sends an exit signal (erlang:exit/2) from `self` to `to`.
  Status exit(const Pid& self, const Pid& to, const Term& reason);
  // `watcher` gets {'DOWN', Ref, process, Object, Reason} when the target ends: Object is the
  // pid, or {Name, Node} for a name; Reason is `noproc` at once for a target that does not
  // exist and `noconnection` when the link to its node goes down.
  Ref monitor(const Pid& watcher, const Pid& target);
  Ref monitor(const Pid& watcher, const RegName& target);
  void demonitor(const Pid& watcher, const Ref& ref);

  // --- remote calls --------------------------------------------------------------------
  // Serves rpc:call / erpc:call / rpc:cast (and the old `rex` path) for Module:Function/Arity.
  // A function that throws makes the caller see {badrpc, {'EXIT', {{cpp_exception, What},
  // []}}}; the node keeps running. Unknown functions get undef, as on a BEAM node.
  using RpcFunction = std::function<Term(Node& node, const std::vector<Term>& args)>;
  void register_function(std::string module, std::string function, std::uint32_t arity,
                         RpcFunction fn);

  // --- messaging -----------------------------------------------------------------------
  // Sends never block: to a node without a link, the message waits while one is set up.
  Status send(const Pid& to, const Term& message);
  Status send(const RegName& to, const Term& message, const std::optional<Pid>& from = {});
  // gen_server reply: `from` is the {Pid, Tag} of a '$gen_call'.
  Status reply(const Term& from, const Term& reply);
  // gen_server:call from C++: `done` receives the reply, or an error: Errc::timeout,
  // Errc::noproc (no such process or name), Errc::not_connected (its node is unreachable or
  // went down) or Errc::process_exit (the server ended; the message names the reason).
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

  // --- operating -----------------------------------------------------------------------
  // A snapshot of what the node holds and has done (convoy/stats.hpp).
  NodeStats stats() const;
  // False while accepting connections is paused (out of file descriptors).
  bool accepting() const;

  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convoy
