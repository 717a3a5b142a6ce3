#pragma once
// ProcessTable: the node's local processes with Erlang's semantics — pids and registered
// names, mailboxes fed through one queue, links, monitors and exit signals, locally and
// across links (what LINK, EXIT, MONITOR_P... from a peer do, and what a process's end
// sends to other nodes). It never touches a socket: what must reach another node goes
// through Env::route, so the table is tested with a recording Env and no network.
//
// Walks over processes use snapshots: an exit signal may end processes (and so change the
// table) while a node-down or an exit is being handled.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "base/log_limiter.hpp"
#include "convoy/process.hpp"
#include "convoy/result.hpp"
#include "convoy/term.hpp"
#include "dist/control.hpp"
#include "ei/identity.hpp"

namespace convoy::node {

class ProcessTable {
 public:
  class Env {
   public:
    virtual ~Env() = default;
    // A control message (and payload) for another node; queued while a link is set up.
    virtual Status route(const std::string& node, const dist::ControlMessage& m,
                         const Term* payload = nullptr) = 0;
  };

  ProcessTable(ei::Identity& identity, std::string node_name, std::uint32_t creation, Env& env);

  const std::string& node_name() const noexcept { return node_name_; }
  bool is_local(const Pid& p) const { return p.node == node_name_ && p.creation == creation_; }

  // --- processes ----------------------------------------------------------------------
  Pid spawn(Mailbox mailbox, ProcessOptions options);
  Result<Pid> register_process(std::string name, Mailbox mailbox, ProcessOptions options);
  bool is_alive(const Pid& pid) const { return find(pid) != nullptr; }
  std::optional<Pid> whereis(const std::string& name) const;
  // Ends a local process: links get exit signals, monitors 'DOWN', all with `reason`. A
  // reason other than normal, shutdown or {shutdown, _} is logged (at most 20 lines a
  // second, then a count).
  void exit(const Pid& pid, const Term& reason);
  Ref make_ref() { return identity_.make_ref(); }

  // --- messages -----------------------------------------------------------------------
  // Queues `message` for a local pid (a send to a dead pid vanishes, as in Erlang).
  void deliver(const Pid& to, const Term& message);
  void deliver(const std::string& name, const Term& message);
  // Hands what is queued now (not what handlers queue meanwhile) to `run`, which calls the
  // mailbox; true if anything was queued. An exception out of `run` ends that process with
  // {cpp_exception, <<what()>>} and is logged; the rest of the queue still runs.
  using Runner = std::function<void(const Mailbox& mailbox, const Pid& to, const Term& message)>;
  bool drain(const Runner& run);
  bool has_messages() const { return !queue_.empty(); }

  // --- signals between processes, as erlang:link/unlink/exit/monitor/demonitor ---------
  Status link(const Pid& self, const Pid& other);
  Status unlink(const Pid& self, const Pid& other);
  Status send_exit(const Pid& self, const Pid& to, const Term& reason);
  // `target` is a pid or a registered name (atom) on `node`; `object` is what 'DOWN' names.
  Ref monitor(const Pid& watcher, const Term& target, const std::string& node, Term object);
  void demonitor(const Pid& watcher, const Ref& ref);

  // --- what peers ask for, and what their loss means ------------------------------------
  void remote_link(const std::string& peer, const Pid& from, const Pid& to);
  void remote_unlink(const Pid& from, const Pid& to);
  // EXIT (via_link) or EXIT2 from a remote process.
  void remote_exit(const Pid& from, const Pid& to, const Term& reason, bool via_link);
  void remote_monitor(const std::string& peer, const Pid& from, const Term& target, const Ref& ref);
  void remote_demonitor(const Term& target, const Ref& ref);
  // MONITOR_P_EXIT: a monitor a local process holds on a remote one fired.
  void monitor_fired(const Pid& watcher, const Ref& ref, const Term& reason);
  // The link to `node` is gone (or never came up): monitors and links across it fire.
  void node_lost(const std::string& node);

  std::size_t size() const { return processes_.size(); }
  // Links and monitors a remote node holds on local processes (each costs memory here until
  // it is undone, the process ends or the node goes); past the most, a new one is refused at
  // once: the linker gets an exit signal, the monitor a 'DOWN', both with system_limit.
  void set_max_holds_per_node(std::size_t n) { max_holds_per_node_ = n; }
  std::size_t holds_of(const std::string& node) const;
  std::uint64_t refused_holds() const { return refused_holds_; }

 private:
  struct Watch {
    Pid watcher;
    Term object;  // what 'DOWN' names: the pid, or {Name, Node}, or what MONITOR_P sent
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
  using Key = std::pair<std::uint32_t, std::uint32_t>;

  std::shared_ptr<Process> find(const Pid& p) const;
  std::shared_ptr<Process> resolve(const Term& pid_or_name) const;
  void crashed(const Pid& pid, const std::shared_ptr<Process>& p, const std::string& what);
  // exit() without its log line: unlinks, 'DOWN's and exit signals.
  void end(const Pid& pid, const std::shared_ptr<Process>& p, const Term& reason);
  std::string describe(const Pid& pid, const Process& p) const;
  void exit_signal(const Pid& to, const Pid& from, const Term& reason, bool via_link);
  void down(const Pid& watcher, const Ref& ref, const Term& object, const Term& reason);
  void route(const std::string& node, const dist::ControlMessage& m);
  // Counts a link or monitor held by a remote pid; hold() is false (and counts nothing)
  // at the limit when `enforce` (what a peer asks for; the node's own links always count).
  bool hold(const std::string& node, bool enforce);
  void release(const std::string& node);

  ei::Identity& identity_;
  std::string node_name_;
  std::uint32_t creation_;
  Env& env_;
  std::map<Key, std::shared_ptr<Process>> processes_;
  std::unordered_map<std::string, Pid> names_;
  std::map<Ref, RemoteMonitor> remote_monitors_;
  std::uint64_t next_unlink_id_ = 1;
  std::deque<std::pair<Pid, Term>> queue_;
  LogLimiter exit_log_{20, std::chrono::seconds(1)};    // non-normal exits: lines per second
  std::unordered_map<std::string, std::size_t> holds_;  // per remote node
  std::size_t max_holds_per_node_ = 100000;
  std::uint64_t refused_holds_ = 0;
  LogLimiter hold_log_{1, std::chrono::seconds(10)};
};

}  // namespace convoy::node
