#pragma once
// Live-process test harness: real erl / elixir / c_node processes on 127.0.0.1, started
// with RAII guards that bound every wait and kill what they started (by PID, with the
// process group they lead) when they go out of scope.
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "convoy/node.hpp"
#include "convoy/transport.hpp"

namespace convoy::test {

using namespace std::chrono_literals;

// Paths baked in by CMake.
std::string c_node_binary();
std::string fixture_ebin();

// A TCP port on 127.0.0.1 that nothing listens on right now.
std::uint16_t free_port();
// True if something LISTENs on the port (read from /proc/net/tcp, never by connecting: a
// probing connection is a failed handshake the peer would log).
bool is_listening(std::uint16_t port);
bool wait_listening(std::uint16_t port, std::chrono::milliseconds limit);
// True if a UDP socket is bound to the port (from /proc/net/udp{,6}); UDP servers have no
// LISTEN state, and probing them with a datagram would be a query they log or answer.
bool is_udp_bound(std::uint16_t port);
bool wait_udp_bound(std::uint16_t port, std::chrono::milliseconds limit);

class Process {
 public:
  // Starts argv[0] with argv, stdout+stderr to a log file, in its own process group.
  explicit Process(std::vector<std::string> argv, std::vector<std::string> env = {});
  Process(Process&&) noexcept;
  Process& operator=(Process&&) = delete;
  ~Process();  // SIGKILL to the group, then reap

  int pid() const noexcept { return pid_; }
  bool running();
  // Waits for exit; the exit status (or 128+signal), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds limit);
  void signal(int sig);  // to the process only
  void kill_group();
  std::string output() const;  // everything written so far
  // Waits until the output contains `text`.
  bool wait_output(const std::string& text, std::chrono::milliseconds limit) const;
  const std::filesystem::path& log_path() const { return log_; }

 private:
  int pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_;
};

inline const std::string kCookie = "convoy-test-cookie";

// Flags every BEAM test node gets: no epmd, the fixture's epmd module, loopback only.
std::vector<std::string> beam_flags();

struct BeamNode {
  enum class Kind { erlang, elixir };

  // Starts a BEAM node named "<sname>-<free port>@127.0.0.1" that runs `expr` (Erlang for
  // erlang, Elixir for elixir) and returns at once; the node boots meanwhile.
  static BeamNode spawn(Kind kind, const std::string& sname, const std::string& expr,
                        const std::vector<std::string>& extra = {},
                        const std::string& cookie = kCookie);
  // spawn(), then waits (bounded) until the node printed READY and listens; throws with
  // its output if it does not. For `expr`s that serve, e.g. convoy_fixture:serve().
  static BeamNode serve(Kind kind, const std::string& sname, const std::string& expr,
                        const std::vector<std::string>& extra = {},
                        const std::string& cookie = kCookie);
  // A long-running node serving the fixture's `fixture_server` and `echo`
  // (convoy_fixture:serve()).
  static BeamNode start(Kind kind, const std::string& sname, const std::string& cookie = kCookie);

  std::string name;  // "sname-PORT@127.0.0.1"
  std::uint16_t port = 0;
  Process process;
};

// The command line of a BEAM node named `name` that runs `expr`: beam_flags(), then `extra`
// (emulator flags such as {"-hidden"} or {"-kernel", "net_ticktime", "4"}; for elixir they
// go into --erl). BeamNode::spawn runs it; the C++ tests build no other BEAM command line.
std::vector<std::string> beam_argv(BeamNode::Kind kind, const std::string& name,
                                   const std::string& expr,
                                   const std::vector<std::string>& extra = {},
                                   const std::string& cookie = kCookie);

struct ClientResult {
  std::optional<int> exit_code;  // nullopt: killed at the time limit
  std::string output;
};
// A short-lived BEAM node that runs `expr` (Erlang for erlang, Elixir for elixir), then
// halts. The node gets a fresh name; `cookie` defaults to the suite's.
ClientResult run_client(BeamNode::Kind kind, const std::string& expr,
                        std::chrono::milliseconds limit = 60s, const std::string& cookie = kCookie);

// The c_node executable under test on a free port.
struct CNode {
  static CNode start(const std::string& cookie = kCookie, std::vector<std::string> extra = {});
  std::string name;
  std::uint16_t port = 0;
  Process process;
};

// Options for an in-process Node named "<sname>-<free port>@127.0.0.1", bound to loopback.
NodeOptions loopback_options(const std::string& sname, const std::string& cookie = kCookie);
// An in-process Node named "<sname>-<free port>@127.0.0.1" on loopback; throws on failure.
std::unique_ptr<Node> start_node(const std::string& sname = "lib",
                                 std::chrono::seconds ticktime = std::chrono::seconds(60),
                                 const std::string& cookie = kCookie);

// An in-process Node on a local transport (convoy/transport.hpp): no port is bound, and
// nodes sharing `transport` reach each other by the port in their names.
std::unique_ptr<Node> local_node(const std::shared_ptr<Transport>& transport,
                                 const std::string& sname,
                                 const std::function<void(NodeOptions&)>& tweak = {});
// Runs both nodes' loops in turns on this thread until `done` or `limit`.
bool pump_both(Node& a, Node& b, const std::function<bool()>& done,
               std::chrono::milliseconds limit);

// Node::run_until, with the loop woken every 20 ms so conditions outside the node (a child
// process exiting, a log line) are seen promptly.
bool pump(Node& node, const std::function<bool()>& done, std::chrono::milliseconds limit);
// node.call() driven to completion on this thread: the reply or call()'s error.
Result<Term> call_and_wait(Node& node, const RegName& to, const Term& req,
                           std::chrono::milliseconds timeout);
Result<Term> call_and_wait(Node& node, const Pid& to, const Term& req,
                           std::chrono::milliseconds timeout);
// A "<Field>: N kB" line of /proc/PID/status (VmRSS, VmHWM...) in KiB; -1 if absent.
long proc_status_kib(int pid, const std::string& field);
// How many times `what` occurs in `text`.
std::size_t count_of(const std::string& text, const std::string& what);

// A node name as an Erlang atom literal ('a-1@h') and as an Elixir one (:"a-1@h").
inline std::string erl_atom(const std::string& node) { return "'" + node + "'"; }
inline std::string ex_atom(const std::string& node) { return ":\"" + node + "\""; }

}  // namespace convoy::test
