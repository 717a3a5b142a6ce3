// Distribution semantics against live Erlang and Elixir nodes: gen_server calls and casts
// both ways, monitors (by pid and name, noproc at once, noconnection on a lost link), links
// and exit signals both ways, rpc/erpc (SPAWN_REQUEST) and the old `rex` path, dead-peer
// detection on a SIGSTOPped node, and simultaneous connects.
//
// BEAM-side helpers live in rebar_fixture/src/convoy_fixture_semantics.erl; every wait is
// bounded and every OS process is killed by PID (process group) when its test ends.
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <regex>
#include <thread>

#include "convoy/node.hpp"
#include "convoy/services.hpp"
#include "harness.hpp"
#include "printed_term.hpp"

namespace convoy::test {
namespace {

using Kind = BeamNode::Kind;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// --- BEAM processes ----------------------------------------------------------------------

// A long-running BEAM node running convoy_fixture_semantics:serve() (fixture_server, echo,
// semantics, stuck). `prelude` runs first (Elixir only: e.g. a defmodule).
BeamNode start_peer(Kind kind, const std::string& sname, const std::vector<std::string>& extra = {},
                    const std::string& prelude = {}) {
  return BeamNode::serve(kind, sname,
                         kind == Kind::erlang ? "convoy_fixture_semantics:serve()"
                                              : prelude + "\n:convoy_fixture_semantics.serve()",
                         extra);
}

// A BEAM client running `expr` in the background (run_client blocks; this one does not, so
// the test thread can drive an in-process Node meanwhile). Named `sname-PORT@127.0.0.1`.
BeamNode start_client(Kind kind, const std::string& expr,
                      const std::vector<std::string>& extra = {},
                      const std::string& sname = "client") {
  return BeamNode::spawn(kind, sname, expr, extra);
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// The integer captured by `re`'s first group in `text`, or -1.
long long captured_number(const std::string& text, const std::string& re) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(re))) return -1;
  return std::stoll(m[1]);
}

bool wait_until(const std::function<bool()>& done, milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// --- in-process node ---------------------------------------------------------------------

void pump_for(Node& node, milliseconds span) {
  pump(
      node, [] { return false; }, span);
}

std::string describe(const Result<Term>& r) {
  return r.ok() ? "ok " + r->to_string()
                : "error " + r.error().code.message() + ": " + r.error().message;
}

// Every message a local process receives, kept for inspection (shared, so it outlives the
// node whatever the declaration order).
struct Inbox {
  std::shared_ptr<std::vector<Term>> messages = std::make_shared<std::vector<Term>>();
  Mailbox mailbox() const {
    return [m = messages](Node&, const Pid&, const Term& t) { m->push_back(t); };
  }
  bool has(const Term& t) const {
    return std::find(messages->begin(), messages->end(), t) != messages->end();
  }
  std::size_t count(const Term& t) const {
    return static_cast<std::size_t>(std::count(messages->begin(), messages->end(), t));
  }
  const Term* find(const std::function<bool(const Term&)>& pred) const {
    for (const auto& t : *messages) {
      if (pred(t)) return &t;
    }
    return nullptr;
  }
  std::string dump() const {
    std::string s = "inbox:";
    for (const auto& t : *messages) s += "\n  " + t.to_string();
    return s;
  }
};

Term atom(std::string_view a) { return Term::atom(a); }
Term tuple(std::vector<Term> e) { return Term::tuple(std::move(e)); }

Term down_msg(const Ref& ref, const Term& object, const Term& reason) {
  return tuple({atom("DOWN"), Term::ref(ref), atom("process"), object, reason});
}
Term exit_msg(const Pid& from, const Term& reason) {
  return tuple({atom("EXIT"), Term::pid(from), reason});
}
Term name_object(const std::string& name, const std::string& node) {
  return tuple({atom(name), atom(node)});
}
// The 'DOWN' for `ref`, whatever it carries.
const Term* find_down(const Inbox& inbox, const Ref& ref) {
  return inbox.find([&](const Term& t) {
    return t.is_tuple(5) && t.element(0)->is_atom("DOWN") && *t.element(1) == Term::ref(ref);
  });
}

// Asks the peer's `semantics` server for a victim process (see convoy_fixture_semantics);
// `name` "" leaves it unregistered.
std::optional<Pid> start_victim(Node& node, const std::string& peer, const std::string& name,
                                bool trap, const std::optional<Pid>& report_to) {
  auto r = call_and_wait(
      node, {"semantics", peer},
      tuple({atom("start_victim"), atom(name.empty() ? "undefined" : name),
             atom(trap ? "true" : "false"), report_to ? Term::pid(*report_to) : atom("undefined")}),
      10s);
  if (r.ok() && r->is_tuple(2) && r->element(0)->is_atom("ok") && r->element(1)->is_pid()) {
    return *r->element(1)->as_pid();
  }
  ADD_FAILURE() << "start_victim " << name << ": " << describe(r);
  return std::nullopt;
}

// =========================================================================================
// 1. gen_server calls and casts
// =========================================================================================

TEST(SemanticsGenServer, ErlangAndElixirCallTheCNodeService) {
  auto c = CNode::start();
  const auto n = erl_atom(c.name);
  auto r =
      run_client(Kind::erlang, "convoy_fixture:ping(" + n +
                                   ", 5000), "
                                   "convoy_fixture:call({c_node, " +
                                   n +
                                   "}, ping, 5000), "
                                   "convoy_fixture:call({c_node, " +
                                   n +
                                   "}, {echo, {a, [1, 2 | t], <<\"b\">>, #{k => 1.5}}}, 5000), "
                                   "halt().");
  ASSERT_TRUE(r.exit_code.has_value()) << r.output;
  EXPECT_TRUE(contains(r.output, "PING pong")) << r.output;
  const std::vector<Term> replies{
      atom("pong"), tuple({atom("a"), Term::list({Term::integer(1), Term::integer(2)}, atom("t")),
                           Term::binary("b"), Term::map({{atom("k"), Term::float_(1.5)}})})};
  EXPECT_EQ(printed_terms(r.output, "CALL ok "), replies) << r.output;

  auto ex = run_client(
      Kind::elixir,
      "n = " + ex_atom(c.name) +
          "\n"
          "IO.puts(\"NODEPING #{Node.ping(n)}\")\n"
          "IO.puts(\"EXCALL #{inspect(GenServer.call({:c_node, n}, :ping, 5000))}\")\n"
          "t = :convoy_fixture.mixed_term()\n"
          "IO.puts(\"EXACT #{GenServer.call({:c_node, n}, {:echo, t}, 5000) === t}\")\n");
  ASSERT_TRUE(ex.exit_code.has_value()) << ex.output;
  EXPECT_EQ(*ex.exit_code, 0) << ex.output;
  EXPECT_TRUE(contains(ex.output, "NODEPING pong")) << ex.output;
  EXPECT_TRUE(contains(ex.output, "EXCALL :pong")) << ex.output;
  EXPECT_TRUE(contains(ex.output, "EXACT true")) << ex.output;
  EXPECT_TRUE(c.process.running()) << c.process.output();
}

TEST(SemanticsGenServer, ErlangAndElixirCastToTheCNodeService) {
  // The c_node service's cast {echo, Pid, T} sends T to Pid.
  auto c = CNode::start();
  const auto n = erl_atom(c.name);
  auto r = run_client(Kind::erlang, "convoy_fixture:ping(" + n +
                                        ", 5000), "
                                        "ok = gen_server:cast({c_node, " +
                                        n +
                                        "}, {echo, self(), cast_arrived}), "
                                        "convoy_fixture:recv(5000), "
                                        "halt().");
  ASSERT_TRUE(r.exit_code.has_value()) << r.output;
  EXPECT_TRUE(contains(r.output, "PING pong")) << r.output;
  EXPECT_TRUE(contains(r.output, "RECV cast_arrived")) << r.output;

  auto ex = run_client(
      Kind::elixir, "n = " + ex_atom(c.name) +
                        "\n"
                        "IO.puts(\"NODEPING #{Node.ping(n)}\")\n"
                        ":ok = GenServer.cast({:c_node, n}, {:echo, self(), {:cast, :arrived}})\n"
                        "receive do\n"
                        "  {:cast, :arrived} -> IO.puts(\"EXCAST ok\")\n"
                        "after\n"
                        "  5000 -> IO.puts(\"EXCAST timeout\")\n"
                        "end\n");
  ASSERT_TRUE(ex.exit_code.has_value()) << ex.output;
  EXPECT_TRUE(contains(ex.output, "NODEPING pong")) << ex.output;
  EXPECT_TRUE(contains(ex.output, "EXCAST ok")) << ex.output;
  EXPECT_TRUE(c.process.running()) << c.process.output();
}

TEST(SemanticsGenServer, BeamClientsCallAndCastACppGenServer) {
  auto node = start_node();
  auto notes = std::make_shared<std::vector<Term>>();
  auto later_replies = std::make_shared<int>(0);
  auto registered = node->register_process(
      "calc",
      gen_server_mailbox({.handle_call = [later_replies](Node& n, const Term& req,
                                                         const Term& from) -> std::optional<Term> {
                            if (req.is_tuple(3) && req.element(0)->is_atom("add") &&
                                req.element(1)->as_integer() && req.element(2)->as_integer()) {
                              return Term::integer(*req.element(1)->as_integer() +
                                                   *req.element(2)->as_integer());
                            }
                            if (req.is_tuple(2) && req.element(0)->is_atom("later")) {
                              // Answered from a timer: Node::reply with the caller's tag ([alias |
                              // Ref]).
                              const Term answer = tuple({atom("later"), *req.element(1)});
                              n.after(100ms, [from, answer, later_replies](Node& nn) {
                                ++*later_replies;
                                EXPECT_TRUE(nn.reply(from, answer).ok());
                              });
                              return std::nullopt;
                            }
                            return tuple({atom("error"), req});
                          },
                          .handle_cast = [notes](Node&, const Term& req) { notes->push_back(req); },
                          .handle_info = {}}));
  ASSERT_TRUE(registered.ok()) << registered.error().message;

  const auto n = erl_atom(node->name().str());
  auto erl = start_client(Kind::erlang, "convoy_fixture:ping(" + n +
                                            ", 5000), "
                                            "convoy_fixture:call({calc, " +
                                            n +
                                            "}, {add, 2, 40}, 5000), "
                                            "ok = gen_server:cast({calc, " +
                                            n +
                                            "}, {note, erlang}), "
                                            "convoy_fixture:call({calc, " +
                                            n +
                                            "}, {later, x}, 5000), "
                                            "halt().");
  ASSERT_TRUE(pump(
      *node, [&] { return !erl.process.running(); }, 60s))
      << erl.process.output();
  const auto eout = erl.process.output();
  EXPECT_TRUE(contains(eout, "PING pong")) << eout;
  const std::vector<Term> replies{Term::integer(42), tuple({atom("later"), atom("x")})};
  EXPECT_EQ(printed_terms(eout, "CALL ok "), replies) << eout;

  const auto x = ex_atom(node->name().str());
  auto ex = start_client(
      Kind::elixir, "n = " + x +
                        "\n"
                        "IO.puts(\"NODEPING #{Node.ping(n)}\")\n"
                        "IO.puts(\"EXADD #{GenServer.call({:calc, n}, {:add, 1, 2}, 5000)}\")\n"
                        ":ok = GenServer.cast({:calc, n}, {:note, :elixir})\n"
                        "IO.puts(\"EXLATER #{inspect(GenServer.call({:calc, n}, {:later, :y}, "
                        "5000))}\")\n");
  ASSERT_TRUE(pump(
      *node, [&] { return !ex.process.running(); }, 60s))
      << ex.process.output();
  const auto xout = ex.process.output();
  EXPECT_TRUE(contains(xout, "NODEPING pong")) << xout;
  EXPECT_TRUE(contains(xout, "EXADD 3")) << xout;
  EXPECT_TRUE(contains(xout, "EXLATER {:later, :y}")) << xout;

  // Both casts arrived, in order (each was followed by a call from the same process).
  const std::vector<Term> expected{tuple({atom("note"), atom("erlang")}),
                                   tuple({atom("note"), atom("elixir")})};
  EXPECT_EQ(*notes, expected);
  EXPECT_EQ(*later_replies, 2);
}

// =========================================================================================
// 2. A call to a missing name fails fast (name monitors answer noproc at once)
// =========================================================================================

TEST(SemanticsGenServer, CallToAMissingNameOnTheCNodeFailsFastWithNoproc) {
  auto c = CNode::start();
  const auto n = erl_atom(c.name);
  const auto t0 = Clock::now();
  // A 30 s call timeout: a hang would show as TCALL error timeout after 30 s (and the
  // client killed at 25 s), not as noproc.
  auto r = run_client(Kind::erlang,
                      "convoy_fixture:ping(" + n +
                          ", 5000), "
                          "convoy_fixture_semantics:timed_call({nosuch, " +
                          n +
                          "}, ping, 30000), "
                          "convoy_fixture_semantics:timed_call({c_node, " +
                          n +
                          "}, ping, 5000), "
                          "halt().",
                      25s);
  const double took = seconds_since(t0);
  ASSERT_TRUE(r.exit_code.has_value()) << "client still running after 25 s:\n" << r.output;
  const auto ms = captured_number(r.output, "TCALL error noproc ([0-9]+)");
  ASSERT_GE(ms, 0) << r.output;
  std::printf(
      "gen_server:call to a missing name on the c_node: noproc after %lld ms "
      "(client ran %.1f s)\n",
      ms, took);
  RecordProperty("noproc_ms", static_cast<int>(ms));
  EXPECT_LT(ms, 2000) << r.output;
  EXPECT_LT(took, 10.0);
  EXPECT_TRUE(contains(r.output, "TCALL ok pong")) << r.output;

  // Elixir's GenServer.call, same path.
  auto ex =
      run_client(Kind::elixir,
                 "n = " + ex_atom(c.name) +
                     "\n"
                     "Node.ping(n)\n"
                     "t0 = System.monotonic_time(:millisecond)\n"
                     "r = try do\n"
                     "  GenServer.call({:nosuch, n}, :ping, 30000)\n"
                     "catch\n"
                     "  :exit, {reason, _} -> {:exit, reason}\n"
                     "end\n"
                     "IO.puts(\"EXNOPROC #{inspect(r)} #{System.monotonic_time(:millisecond) - "
                     "t0}\")\n",
                 25s);
  ASSERT_TRUE(ex.exit_code.has_value()) << "client still running after 25 s:\n" << ex.output;
  const auto xms = captured_number(ex.output, "EXNOPROC \\{:exit, :noproc\\} ([0-9]+)");
  ASSERT_GE(xms, 0) << ex.output;
  EXPECT_LT(xms, 2000) << ex.output;
  EXPECT_TRUE(c.process.running()) << c.process.output();
}

// =========================================================================================
// 3. erlang:monitor(process, {c_node, N}) from a BEAM node
// =========================================================================================

TEST(SemanticsMonitor, BeamMonitorsTheCNodeServiceAndGetsNoconnectionWhenItIsKilled) {
  auto c = CNode::start();
  // A name that does not exist: 'DOWN' noproc at once.
  auto r = run_client(Kind::erlang,
                      "convoy_fixture:ping(" + erl_atom(c.name) +
                          ", 5000), "
                          "convoy_fixture_semantics:monitor_watch({nosuch, " +
                          erl_atom(c.name) +
                          "}, 5000, 0), "
                          "halt().",
                      30s);
  ASSERT_TRUE(r.exit_code.has_value()) << r.output;
  const auto noproc_ms =
      captured_number(r.output, "MONITOR down noproc \\{nosuch,'" + c.name + "'\\} ([0-9]+)");
  ASSERT_GE(noproc_ms, 0) << r.output;
  EXPECT_LT(noproc_ms, 1000) << r.output;

  // The service that exists: quiet while the c_node lives (1 s), 'DOWN' noconnection once
  // it is killed with SIGKILL. From Elixir (Process.monitor is erlang:monitor).
  auto watcher = start_client(
      Kind::elixir, "n = " + ex_atom(c.name) +
                        "\n"
                        "IO.puts(\"NODEPING #{Node.ping(n)}\")\n"
                        ":convoy_fixture_semantics.monitor_watch({:c_node, n}, 1000, 15000)\n");
  ASSERT_TRUE(watcher.process.wait_output("MONITOR ", 40s)) << watcher.process.output();
  ASSERT_TRUE(watcher.process.wait_output("MONITOR quiet", 1s)) << watcher.process.output();
  EXPECT_TRUE(contains(watcher.process.output(), "NODEPING pong")) << watcher.process.output();
  EXPECT_FALSE(contains(watcher.process.output(), "MONITOR down")) << watcher.process.output();

  const auto t0 = Clock::now();
  c.process.kill_group();
  ASSERT_TRUE(c.process.wait(5s).has_value());
  ASSERT_TRUE(watcher.process.wait_output("MONITOR down", 10s)) << watcher.process.output();
  std::printf("'DOWN' after kill -9 of the c_node: %.2f s\n", seconds_since(t0));
  EXPECT_TRUE(
      contains(watcher.process.output(), "MONITOR down noconnection {c_node,'" + c.name + "'}"))
      << watcher.process.output();
}

// =========================================================================================
// 4. Monitors from C++ on BEAM processes, and from BEAM on C++ processes
// =========================================================================================

TEST(SemanticsMonitor, CppMonitorsBeamProcessesAndGetsTheRealReason) {
  auto peer = start_peer(Kind::erlang, "mon");
  auto node = start_node();
  Inbox inbox;
  const Pid watcher = node->spawn(inbox.mailbox());

  // By pid: the reason the process really exited with.
  auto v1 = start_victim(*node, peer.name, "v1", false, std::nullopt);
  ASSERT_TRUE(v1);
  const Ref r1 = node->monitor(watcher, *v1);
  const Term reason1 = tuple({atom("shutdown"), atom("tested")});
  ASSERT_TRUE(node->send(*v1, tuple({atom("die"), reason1})).ok());
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, r1) != nullptr; }, 5s))
      << inbox.dump();
  EXPECT_EQ(*find_down(inbox, r1), down_msg(r1, Term::pid(*v1), reason1));

  // By name: Object is {Name, Node}.
  auto v2 = start_victim(*node, peer.name, "v2", false, std::nullopt);
  ASSERT_TRUE(v2);
  const Ref r2 = node->monitor(watcher, RegName{"v2", peer.name});
  ASSERT_TRUE(node->send(RegName{"v2", peer.name}, tuple({atom("die"), atom("kaboom")})).ok());
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, r2) != nullptr; }, 5s))
      << inbox.dump();
  EXPECT_EQ(*find_down(inbox, r2), down_msg(r2, name_object("v2", peer.name), atom("kaboom")));

  // A name nobody holds, and a pid that is gone: noproc, at once.
  auto t0 = Clock::now();
  const Ref r3 = node->monitor(watcher, RegName{"nosuch", peer.name});
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, r3) != nullptr; }, 5s))
      << inbox.dump();
  EXPECT_LT(seconds_since(t0), 1.0);
  EXPECT_EQ(*find_down(inbox, r3), down_msg(r3, name_object("nosuch", peer.name), atom("noproc")));
  const Ref r4 = node->monitor(watcher, *v1);
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, r4) != nullptr; }, 5s))
      << inbox.dump();
  EXPECT_EQ(*find_down(inbox, r4), down_msg(r4, Term::pid(*v1), atom("noproc")));

  // demonitor: no 'DOWN' for a monitor taken back (r6, set after it, is the sync point).
  auto v3 = start_victim(*node, peer.name, "v3", false, std::nullopt);
  ASSERT_TRUE(v3);
  const Ref r5 = node->monitor(watcher, *v3);
  node->demonitor(watcher, r5);
  const Ref r6 = node->monitor(watcher, *v3);
  ASSERT_TRUE(node->send(*v3, tuple({atom("die"), atom("quietly")})).ok());
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, r6) != nullptr; }, 5s))
      << inbox.dump();
  EXPECT_EQ(*find_down(inbox, r6), down_msg(r6, Term::pid(*v3), atom("quietly")));
  pump_for(*node, 300ms);
  EXPECT_EQ(find_down(inbox, r5), nullptr) << inbox.dump();

  // Local: a C++ monitor on a C++ process.
  const Pid local = node->spawn([](Node&, const Pid&, const Term&) {});
  const Ref r7 = node->monitor(watcher, local);
  node->exit_process(local, atom("local_reason"));
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, r7) != nullptr; }, 2s))
      << inbox.dump();
  EXPECT_EQ(*find_down(inbox, r7), down_msg(r7, Term::pid(local), atom("local_reason")));
  EXPECT_FALSE(node->is_alive(local));

  // The other way: a BEAM process monitors C++ processes (by pid, by name, a missing name).
  Inbox reports;
  const Pid reporter = node->spawn(reports.mailbox());
  auto v4 = start_victim(*node, peer.name, "v4", false, reporter);
  ASSERT_TRUE(v4);
  const Pid target = node->spawn([](Node&, const Pid&, const Term&) {});
  auto named = node->register_process("cpp_target", [](Node&, const Pid&, const Term&) {});
  ASSERT_TRUE(named.ok());
  auto monitoring = [&](std::size_t n) {
    return [&reports, n] {
      std::size_t k = 0;
      for (const auto& t : *reports.messages) {
        if (t.is_tuple(3) && t.element(0)->is_atom("monitoring")) ++k;
      }
      return k >= n;
    };
  };
  auto victim_down = [&](const Term& object) {
    return reports.find([&](const Term& t) {
      return t.is_tuple(5) && t.element(0)->is_atom("victim_down") && *t.element(3) == object;
    });
  };
  ASSERT_TRUE(node->send(*v4, tuple({atom("monitor"), Term::pid(target)})).ok());
  ASSERT_TRUE(
      node->send(*v4, tuple({atom("monitor"), name_object("cpp_target", node->name().str())}))
          .ok());
  ASSERT_TRUE(pump(*node, monitoring(2), 5s)) << reports.dump() << peer.process.output();
  node->exit_process(target, atom("gone"));
  node->exit_process(*named, atom("gone_too"));
  ASSERT_TRUE(
      node->send(*v4, tuple({atom("monitor"), name_object("cpp_nosuch", node->name().str())}))
          .ok());
  const Term named_object = name_object("cpp_target", node->name().str());
  const Term missing_object = name_object("cpp_nosuch", node->name().str());
  ASSERT_TRUE(pump(
      *node,
      [&] {
        return victim_down(Term::pid(target)) && victim_down(named_object) &&
               victim_down(missing_object);
      },
      5s))
      << reports.dump() << "\n"
      << peer.process.output();
  EXPECT_EQ(*victim_down(Term::pid(target))->element(4), atom("gone"));
  EXPECT_EQ(*victim_down(named_object)->element(4), atom("gone_too"));
  EXPECT_EQ(*victim_down(missing_object)->element(4), atom("noproc"));
}

// =========================================================================================
// 5. Links and exit signals both ways
// =========================================================================================

TEST(SemanticsLink, BeamProcessLinkedToATrappingCppProcessDiesAndTheCppSideGetsExit) {
  auto peer = start_peer(Kind::erlang, "lnka");
  auto node = start_node();
  Inbox inbox;
  auto trapper = node->register_process("trapper", inbox.mailbox(), {.trap_exit = true});
  ASSERT_TRUE(trapper.ok());
  auto v = start_victim(*node, peer.name, "la", false, *trapper);
  ASSERT_TRUE(v);
  // The BEAM process calls link/1 on the C++ pid, then exits with `boom`.
  ASSERT_TRUE(node->send(*v, tuple({atom("link_to"), Term::pid(*trapper)})).ok());
  const Term linked = tuple({atom("linked"), atom("la"), Term::pid(*v)});
  ASSERT_TRUE(pump(
      *node, [&] { return inbox.has(linked); }, 5s))
      << inbox.dump();
  ASSERT_TRUE(node->send(*v, tuple({atom("die"), atom("boom")})).ok());
  ASSERT_TRUE(pump(
      *node, [&] { return inbox.has(exit_msg(*v, atom("boom"))); }, 5s))
      << inbox.dump() << "\n"
      << peer.process.output();
  EXPECT_TRUE(node->is_alive(*trapper));  // trapping: a message, not a death
}

TEST(SemanticsLink, CppProcessLinkedToATrappingBeamProcessExitsAndTheBeamSideGetsExit) {
  auto peer = start_peer(Kind::erlang, "lnkb");
  auto node = start_node();
  Inbox reports;
  const Pid observer = node->spawn(reports.mailbox());
  auto v = start_victim(*node, peer.name, "lb", true, observer);
  ASSERT_TRUE(v);
  auto exit_report = [&](const Pid& from, const Term& reason) {
    return tuple({atom("victim_exit"), atom("lb"), Term::pid(from), reason});
  };

  // Linked, then unlinked: its exit must not reach the BEAM process.
  const Pid unlinked = node->spawn([](Node&, const Pid&, const Term&) {});
  ASSERT_TRUE(node->link(unlinked, *v).ok());
  ASSERT_TRUE(node->unlink(unlinked, *v).ok());
  node->exit_process(unlinked, atom("bye_unlinked"));

  // Linked: exit_process(pid, bye) -> {'EXIT', CPid, bye} in the trapping BEAM process.
  const Pid linker = node->spawn([](Node&, const Pid&, const Term&) {});
  ASSERT_TRUE(node->link(linker, *v).ok());
  node->exit_process(linker, atom("bye"));
  EXPECT_FALSE(node->is_alive(linker));
  ASSERT_TRUE(pump(
      *node, [&] { return reports.has(exit_report(linker, atom("bye"))); }, 5s))
      << reports.dump() << "\n"
      << peer.process.output();
  EXPECT_TRUE(contains(peer.process.output(), "VICTIM lb EXIT")) << peer.process.output();
  // Signals on one link are ordered: the unlinked process's exit came first and was dropped.
  EXPECT_FALSE(reports.has(exit_report(unlinked, atom("bye_unlinked")))) << reports.dump();
}

TEST(SemanticsLink, NonTrappingCppProcessDiesWithItsLinkedBeamProcess) {
  auto peer = start_peer(Kind::erlang, "lnkc");
  auto node = start_node();
  Inbox inbox;
  const Pid watcher = node->spawn(inbox.mailbox());
  auto noop = [](Node&, const Pid&, const Term&) {};

  // C++ links, the BEAM process dies abnormally: the C++ process ends with that reason.
  auto v1 = start_victim(*node, peer.name, "lc1", false, std::nullopt);
  ASSERT_TRUE(v1);
  const Pid p1 = node->spawn(noop);
  ASSERT_TRUE(node->link(p1, *v1).ok());
  const Ref m1 = node->monitor(watcher, p1);
  ASSERT_TRUE(node->send(*v1, tuple({atom("die"), atom("kaboom")})).ok());
  ASSERT_TRUE(pump(
      *node, [&] { return !node->is_alive(p1); }, 5s))
      << peer.process.output();
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, m1) != nullptr; }, 2s))
      << inbox.dump();
  EXPECT_EQ(*find_down(inbox, m1), down_msg(m1, Term::pid(p1), atom("kaboom")));

  // The BEAM process links (link/1 from Erlang) and dies abnormally: same.
  Inbox reports;
  const Pid observer = node->spawn(reports.mailbox());
  auto v2 = start_victim(*node, peer.name, "lc2", false, observer);
  ASSERT_TRUE(v2);
  const Pid p2 = node->spawn(noop);
  ASSERT_TRUE(node->send(*v2, tuple({atom("link_to"), Term::pid(p2)})).ok());
  ASSERT_TRUE(pump(
      *node,
      [&] {
        return reports.has(tuple({atom("linked"), atom("lc2"), Term::pid(*v2)}));
      },
      5s))
      << reports.dump();
  ASSERT_TRUE(node->send(*v2, tuple({atom("die"), atom("kaboom2")})).ok());
  EXPECT_TRUE(pump(
      *node, [&] { return !node->is_alive(p2); }, 5s))
      << peer.process.output();

  // `normal` does not kill a linked process; nor does anything after unlink.
  auto v3 = start_victim(*node, peer.name, "lc3", false, std::nullopt);
  auto v4 = start_victim(*node, peer.name, "lc4", false, std::nullopt);
  ASSERT_TRUE(v3 && v4);
  const Pid p3 = node->spawn(noop);
  const Pid p4 = node->spawn(noop);
  ASSERT_TRUE(node->link(p3, *v3).ok());
  ASSERT_TRUE(node->link(p4, *v4).ok());
  ASSERT_TRUE(node->unlink(p4, *v4).ok());
  const Ref m3 = node->monitor(watcher, *v3);
  const Ref m4 = node->monitor(watcher, *v4);
  ASSERT_TRUE(node->send(*v3, tuple({atom("die"), atom("normal")})).ok());
  ASSERT_TRUE(node->send(*v4, tuple({atom("die"), atom("kaboom4")})).ok());
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, m3) && find_down(inbox, m4); }, 5s))
      << inbox.dump();
  pump_for(*node, 300ms);
  EXPECT_TRUE(node->is_alive(p3));
  EXPECT_TRUE(node->is_alive(p4));
}

TEST(SemanticsLink, ExitSignalsBothWays) {
  auto peer = start_peer(Kind::erlang, "exits");
  auto node = start_node();
  Inbox inbox;
  const Pid watcher = node->spawn(inbox.mailbox());
  Inbox reports;
  const Pid observer = node->spawn(reports.mailbox());
  auto noop = [](Node&, const Pid&, const Term&) {};

  // C++ -> trapping BEAM process: exit/2 arrives as {'EXIT', CPid, Reason}; no link needed.
  auto v1 = start_victim(*node, peer.name, "x1", true, observer);
  ASSERT_TRUE(v1);
  const Pid sender = node->spawn(noop);
  ASSERT_TRUE(node->exit(sender, *v1, atom("please")).ok());
  ASSERT_TRUE(pump(
      *node,
      [&] {
        return reports.has(
            tuple({atom("victim_exit"), atom("x1"), Term::pid(sender), atom("please")}));
      },
      5s))
      << reports.dump() << "\n"
      << peer.process.output();
  EXPECT_TRUE(node->is_alive(sender));

  // C++ -> non-trapping BEAM process with `kill`: it dies, 'DOWN' says killed.
  auto v2 = start_victim(*node, peer.name, "x2", false, std::nullopt);
  ASSERT_TRUE(v2);
  const Ref m2 = node->monitor(watcher, *v2);
  ASSERT_TRUE(node->exit(sender, *v2, atom("kill")).ok());
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, m2) != nullptr; }, 5s))
      << inbox.dump();
  EXPECT_EQ(*find_down(inbox, m2), down_msg(m2, Term::pid(*v2), atom("killed")));

  // BEAM -> C++: exit(CPid, shoo) from Erlang. Trapping: a message; not trapping: death;
  // not trapping with `normal`: nothing.
  auto v3 = start_victim(*node, peer.name, "x3", false, observer);
  ASSERT_TRUE(v3);
  Inbox trapped;
  const Pid trapper = node->spawn(trapped.mailbox(), {.trap_exit = true});
  const Pid plain = node->spawn(noop);
  const Pid survivor = node->spawn(noop);
  for (const auto& [to, reason] : std::vector<std::pair<Pid, Term>>{
           {trapper, atom("shoo")}, {plain, atom("shoo")}, {survivor, atom("normal")}}) {
    ASSERT_TRUE(node->send(*v3, tuple({atom("exit_signal"), Term::pid(to), reason})).ok());
  }
  const Term sent = tuple({atom("exit_sent"), atom("x3"), Term::pid(*v3)});
  ASSERT_TRUE(pump(
      *node, [&] { return reports.count(sent) == 3; }, 5s))
      << reports.dump();
  ASSERT_TRUE(pump(
      *node, [&] { return trapped.has(exit_msg(*v3, atom("shoo"))); }, 5s))
      << trapped.dump();
  EXPECT_TRUE(node->is_alive(trapper));
  EXPECT_TRUE(pump(
      *node, [&] { return !node->is_alive(plain); }, 5s));
  pump_for(*node, 300ms);
  EXPECT_TRUE(node->is_alive(survivor));
}

// =========================================================================================
// 6. rpc:call / erpc:call / rpc:cast / rex
// =========================================================================================

// The rpc expressions of the Erlang test, against `n` (an Erlang atom literal).
std::string erlang_rpc_script(const std::string& n) {
  const std::string S = "convoy_fixture_semantics:";
  return "convoy_fixture:ping(" + n + ", 5000), " + S + "rpc(ping, " + n + ", c_node, ping, []), " +
         S + "rpc_mixed(" + n + ", 10000), " + S + "rpc(node, " + n + ", erlang, node, []), " + S +
         "rpc(nodes, " + n + ", erlang, nodes, []), " + S + "rpc(undef, " + n +
         ", nosuch, fn, [1]), " + S + "rpc(badarity, " + n + ", c_node, ping, [extra]), " + S +
         "erpc(ping, " + n + ", c_node, ping, []), " + S + "erpc_mixed(" + n + ", 10000), " + S +
         "erpc(node, " + n + ", erlang, node, []), " + S + "erpc(undef, " + n +
         ", nosuch, fn, [1]), " + S + "rpc_cast(echo, " + n + ", c_node, echo, [hello]), " + S +
         "rpc_cast(undef, " + n + ", nosuch, fn, []), " + S + "rpc(after_cast, " + n +
         ", c_node, echo, [still_here]), " + S + "rex_call(ping, " + n + ", c_node, ping, []), " +
         S + "rex_call(echo, " + n + ", c_node, echo, [{x, \"y\", <<\"z\">>}]), " + S +
         "rex_call(undef, " + n + ", nosuch, fn, []), " + "halt().";
}

std::string line_starting(const std::string& text, const std::string& prefix) {
  const auto at = text.find(prefix);
  if (at == std::string::npos) return "<no line starting with '" + prefix + "'>";
  return text.substr(at, text.find('\n', at) - at);
}

TEST(SemanticsRpc, ErlangRpcErpcCastAndRexToTheCNode) {
  auto c = CNode::start();
  auto r = run_client(Kind::erlang, erlang_rpc_script(erl_atom(c.name)), 90s);
  ASSERT_TRUE(r.exit_code.has_value()) << r.output;
  const auto& o = r.output;
  EXPECT_TRUE(contains(o, "RPC ping pong")) << o;
  EXPECT_TRUE(contains(o, "RPCMIXED rpc true")) << o;
  EXPECT_EQ(printed_terms(o, "RPC node "), std::vector<Term>{atom(c.name)}) << o;
  // The calling node, alone.
  const auto nodes = printed_term(o, "RPC nodes ");
  const auto listed = nodes.ok() ? nodes->list_elements() : std::vector<Term>{};
  EXPECT_TRUE(
      listed.size() == 1 && listed[0].is_atom() &&
      std::regex_match(listed[0].as_atom()->name, std::regex("client-[0-9]+@127\\.0\\.0\\.1")))
      << o;
  EXPECT_TRUE(contains(o, "RPC undef {badrpc,{'EXIT',{undef,")) << o;
  EXPECT_TRUE(contains(o, "RPC badarity {badrpc,{'EXIT',{undef,")) << o;
  EXPECT_TRUE(contains(o, "ERPC ping ok pong")) << o;
  EXPECT_TRUE(contains(o, "RPCMIXED erpc true")) << o;
  EXPECT_EQ(printed_terms(o, "ERPC node ok "), std::vector<Term>{atom(c.name)}) << o;
  EXPECT_TRUE(contains(o, "ERPC undef error {exception,undef,")) << o;
  EXPECT_TRUE(contains(o, "CAST echo true")) << o;
  EXPECT_TRUE(contains(o, "CAST undef true")) << o;
  EXPECT_TRUE(contains(o, "RPC after_cast still_here")) << o;
  EXPECT_TRUE(contains(o, "REX ping pong")) << o;
  EXPECT_EQ(printed_terms(o, "REX echo "),
            std::vector<Term>{tuple({atom("x"), Term::string("y"), Term::binary("z")})})
      << o;
  EXPECT_TRUE(contains(o, "REX undef {badrpc,{'EXIT',{undef,")) << o;
  EXPECT_TRUE(c.process.running()) << c.process.output();

  // undef exactly as a BEAM node answers it.
  auto beam = start_peer(Kind::erlang, "ref");
  auto ref = run_client(Kind::erlang, erlang_rpc_script(erl_atom(beam.name)), 90s);
  ASSERT_TRUE(ref.exit_code.has_value()) << ref.output;
  for (const char* prefix : {"RPC undef ", "RPC badarity ", "ERPC undef ", "REX undef "}) {
    EXPECT_EQ(line_starting(o, prefix), line_starting(ref.output, prefix));
  }
}

TEST(SemanticsRpc, ElixirRpcAndErpcToTheCNode) {
  auto c = CNode::start();
  auto r = run_client(
      Kind::elixir,
      "n = " + ex_atom(c.name) +
          "\n"
          "IO.puts(\"NODEPING #{Node.ping(n)}\")\n"
          "t = :convoy_fixture.mixed_term()\n"
          "IO.puts(\"EX rpc_ping #{inspect(:rpc.call(n, :c_node, :ping, []))}\")\n"
          "IO.puts(\"EX erpc_ping #{inspect(:erpc.call(n, :c_node, :ping, []))}\")\n"
          "IO.puts(\"EX rpc_exact #{:rpc.call(n, :c_node, :echo, [t]) === t}\")\n"
          "IO.puts(\"EX erpc_exact #{:erpc.call(n, :c_node, :echo, [t]) === t}\")\n"
          "IO.puts(\"EX rpc_node #{:rpc.call(n, :erlang, :node, []) === n}\")\n"
          "IO.puts(\"EX erpc_nodes #{:erpc.call(n, :erlang, :nodes, []) === [node()]}\")\n"
          "IO.puts(\"EX rpc_undef #{inspect(:rpc.call(n, :nosuch, :fn, [1]))}\")\n"
          "r = try do\n"
          "  :erpc.call(n, :nosuch, :fn, [1])\n"
          "catch\n"
          "  kind, reason -> {kind, reason}\n"
          "end\n"
          "IO.puts(\"EX erpc_undef #{inspect(r)}\")\n"
          "IO.puts(\"EX cast #{:rpc.cast(n, :c_node, :echo, [:x])}\")\n"
          "IO.puts(\"EX after_cast #{inspect(:erpc.call(n, :c_node, :ping, []))}\")\n",
      90s);
  ASSERT_TRUE(r.exit_code.has_value()) << r.output;
  EXPECT_EQ(*r.exit_code, 0) << r.output;
  const auto& o = r.output;
  EXPECT_TRUE(contains(o, "NODEPING pong")) << o;
  EXPECT_TRUE(contains(o, "EX rpc_ping :pong")) << o;
  EXPECT_TRUE(contains(o, "EX erpc_ping :pong")) << o;
  EXPECT_TRUE(contains(o, "EX rpc_exact true")) << o;
  EXPECT_TRUE(contains(o, "EX erpc_exact true")) << o;
  EXPECT_TRUE(contains(o, "EX rpc_node true")) << o;
  EXPECT_TRUE(contains(o, "EX erpc_nodes true")) << o;
  EXPECT_TRUE(contains(o, "EX rpc_undef {:badrpc, {:EXIT, {:undef,")) << o;
  EXPECT_TRUE(contains(o, "EX erpc_undef {:error, {:exception, :undef,")) << o;
  EXPECT_TRUE(contains(o, "EX cast true")) << o;
  EXPECT_TRUE(contains(o, "EX after_cast :pong")) << o;
  EXPECT_TRUE(c.process.running()) << c.process.output();
}

TEST(SemanticsRpc, ThrowingCppFunctionIsBadrpcAndTheNodeKeepsServing) {
  auto node = start_node();
  int booms = 0, adds = 0;
  node->register_function("cpp", "boom", 0, [&](Node&, const std::vector<Term>&) -> Term {
    ++booms;
    throw std::runtime_error("kaboom");
  });
  node->register_function("cpp", "weird", 0, [](Node&, const std::vector<Term>&) -> Term {
    throw 42;  // not a std::exception
  });
  node->register_function("cpp", "add", 2, [&](Node&, const std::vector<Term>& args) -> Term {
    ++adds;
    if (args.size() != 2 || !args[0].as_integer() || !args[1].as_integer()) {
      throw std::invalid_argument("add/2 wants two integers");
    }
    return Term::integer(*args[0].as_integer() + *args[1].as_integer());
  });
  const auto n = erl_atom(node->name().str());
  const std::string S = "convoy_fixture_semantics:";
  auto erl = start_client(
      Kind::erlang, "convoy_fixture:ping(" + n + ", 5000), " + S + "rpc(boom, " + n +
                        ", cpp, boom, []), " + S + "rpc(add, " + n + ", cpp, add, [2, 40]), " + S +
                        "erpc(boom, " + n + ", cpp, boom, []), " + S + "erpc(add, " + n +
                        ", cpp, add, [1, 1]), " + S + "rpc(weird, " + n + ", cpp, weird, []), " +
                        S + "rpc(badarg, " + n + ", cpp, add, [a, b]), " + S + "rpc_cast(boom, " +
                        n + ", cpp, boom, []), " + S + "rex_call(boom, " + n +
                        ", cpp, boom, []), " + S + "rex_call(add, " + n + ", cpp, add, [3, 4]), " +
                        S + "rpc(undef, " + n + ", cpp, add, [1]), " + S + "rpc(add_last, " + n +
                        ", cpp, add, [5, 5]), " + "halt().");
  ASSERT_TRUE(pump(
      *node, [&] { return !erl.process.running(); }, 90s))
      << erl.process.output();
  const auto o = erl.process.output();
  EXPECT_TRUE(contains(o, "RPC boom {badrpc,{'EXIT',{{cpp_exception,")) << o;
  EXPECT_TRUE(contains(o, "RPC add 42")) << o;
  EXPECT_TRUE(contains(o, "ERPC boom error {exception,{cpp_exception,")) << o;
  EXPECT_TRUE(contains(o, "ERPC add ok 2")) << o;
  EXPECT_TRUE(contains(o, "RPC weird {badrpc,{'EXIT',")) << o;
  EXPECT_TRUE(contains(o, "RPC badarg {badrpc,{'EXIT',")) << o;
  EXPECT_TRUE(contains(o, "CAST boom true")) << o;
  EXPECT_TRUE(contains(o, "REX boom {badrpc,{'EXIT',")) << o;
  EXPECT_TRUE(contains(o, "REX add 7")) << o;
  EXPECT_TRUE(contains(o, "RPC undef {badrpc,{'EXIT',{undef,")) << o;
  EXPECT_TRUE(contains(o, "RPC add_last 10")) << o;
  EXPECT_EQ(booms, 4);  // rpc, erpc, cast, rex
  EXPECT_EQ(adds, 5);   // the undef call never reached add/2

  // And from Elixir.
  auto ex =
      start_client(Kind::elixir,
                   "n = " + ex_atom(node->name().str()) +
                       "\n"
                       "Node.ping(n)\n"
                       "IO.puts(\"EX add #{inspect(:rpc.call(n, :cpp, :add, [20, 22]))}\")\n"
                       "IO.puts(\"EX boom #{inspect(:rpc.call(n, :cpp, :boom, []))}\")\n"
                       "IO.puts(\"EX add_again #{inspect(:erpc.call(n, :cpp, :add, [1, 2]))}\")\n");
  ASSERT_TRUE(pump(
      *node, [&] { return !ex.process.running(); }, 60s))
      << ex.process.output();
  const auto x = ex.process.output();
  EXPECT_TRUE(contains(x, "EX add 42")) << x;
  EXPECT_TRUE(contains(x, "EX boom {:badrpc, {:EXIT, {{:cpp_exception,")) << x;
  EXPECT_TRUE(contains(x, "EX add_again 3")) << x;
}

// =========================================================================================
// 7. Calls from C++ to BEAM gen_servers: reply, timeout (no late reply), noproc, exit
// =========================================================================================

TEST(SemanticsCall, CppCallsAnElixirGenServerTimesOutCleanlyAndGetsNoprocFast) {
  const std::string stats =
      "defmodule Stats do\n"
      "  use GenServer\n"
      "  def init(n), do: {:ok, n}\n"
      "  def handle_call(:stats, _from, n), do: {:reply, {:stats, n}, n}\n"
      "  def handle_cast({:set, v}, _n), do: {:noreply, v}\n"
      "end\n"
      "{:ok, _} = GenServer.start(Stats, 42, name: Stats)\n";
  auto peer = start_peer(Kind::elixir, "exs", {}, stats);
  auto node = start_node();

  auto r = call_and_wait(*node, {"Elixir.Stats", peer.name}, atom("stats"), 10s);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(*r, tuple({atom("stats"), Term::integer(42)}));
  ASSERT_TRUE(
      node->cast({"Elixir.Stats", peer.name}, tuple({atom("set"), atom("cast_value")})).ok());
  r = call_and_wait(*node, {"Elixir.Stats", peer.name}, atom("stats"), 10s);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(*r, tuple({atom("stats"), atom("cast_value")}));

  // A server that never answers: Errc::timeout after the 500 ms asked for.
  auto t0 = Clock::now();
  r = call_and_wait(*node, {"stuck", peer.name}, atom("never"), 500ms);
  double took = seconds_since(t0);
  ASSERT_FALSE(r.ok()) << describe(r);
  EXPECT_EQ(r.error().code, make_error_code(Errc::timeout)) << describe(r);
  EXPECT_GE(took, 0.45);
  EXPECT_LT(took, 2.0);

  // A reply after the timeout is not delivered: `done` runs once, with the timeout.
  int calls = 0;
  std::optional<Result<Term>> late;
  node->call({"stuck", peer.name}, tuple({atom("late"), Term::integer(1500), atom("too_late")}),
             500ms, [&](Result<Term> res) {
               ++calls;
               late = std::move(res);
             });
  ASSERT_TRUE(pump(
      *node, [&] { return late.has_value(); }, 5s));
  ASSERT_FALSE(late->ok()) << describe(*late);
  EXPECT_EQ(late->error().code, make_error_code(Errc::timeout));
  ASSERT_TRUE(pump(
      *node, [&] { return contains(peer.process.output(), "LATE replied too_late"); }, 5s))
      << peer.process.output();
  pump_for(*node, 500ms);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(node->is_connected(peer.name));

  // A name nobody holds on a live node: Errc::noproc, at once (a 10 s timeout).
  t0 = Clock::now();
  r = call_and_wait(*node, {"nosuch", peer.name}, atom("ping"), 10s);
  took = seconds_since(t0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(Errc::noproc)) << describe(r);
  EXPECT_LT(took, 2.0);
  std::printf("C++ call to a missing name on an Elixir node: noproc after %.0f ms\n", took * 1e3);

  // A pid that is gone: noproc too.
  auto v = start_victim(*node, peer.name, "", false, std::nullopt);
  ASSERT_TRUE(v);
  Inbox inbox;
  const Pid watcher = node->spawn(inbox.mailbox());
  const Ref m = node->monitor(watcher, *v);
  ASSERT_TRUE(node->send(*v, tuple({atom("die"), atom("normal")})).ok());
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, m) != nullptr; }, 5s))
      << inbox.dump();
  r = call_and_wait(*node, *v, atom("ping"), 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(Errc::noproc)) << describe(r);

  // The server ends during the call: Errc::process_exit naming the reason.
  r = call_and_wait(*node, {"semantics", peer.name}, tuple({atom("start_server"), atom("doomed")}),
                    10s);
  ASSERT_TRUE(r.ok()) << describe(r);
  r = call_and_wait(*node, {"doomed", peer.name}, tuple({atom("stop"), atom("doomsday")}), 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, make_error_code(Errc::process_exit)) << describe(r);
  EXPECT_TRUE(contains(r.error().message, "doomsday")) << describe(r);

  // Still usable afterwards.
  r = call_and_wait(*node, {"fixture_server", peer.name}, atom("ping"), 10s);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_EQ(*r, atom("pong"));
}

// =========================================================================================
// 8. Dead-peer detection: a SIGSTOPped BEAM node
// =========================================================================================

TEST(SemanticsTicks, SigstoppedPeerIsDroppedByTheCNodeWithinTicktimeAndComesBack) {
  auto c = CNode::start(kCookie, {"--net-ticktime", "4"});
  // The peer re-pings the c_node whenever it is not connected (every 500 ms).
  auto frozen = start_client(
      Kind::erlang, "convoy_fixture_semantics:keep_connected(" + erl_atom(c.name) + ", 500)",
      {"-kernel", "net_ticktime", "4"}, "frozen");
  const std::string& peer = frozen.name;
  Process& p = frozen.process;
  ASSERT_TRUE(p.wait_output("KEEP pong", 30s)) << p.output();
  ASSERT_TRUE(c.process.wait_output("link up: " + peer, 5s)) << c.process.output();
  // Idle, so only ticks flow. A BEAM node ticks when it wrote nothing for a tick interval
  // (ticktime/4), so its bytes arrive at most ~2 intervals apart: after a SIGSTOP the link
  // has been silent for 0..2 s already, and the verdict is due 2..4 s later.
  std::this_thread::sleep_for(3s);

  const auto t0 = Clock::now();
  p.signal(SIGSTOP);
  const bool dropped = c.process.wait_output("link down: " + peer, 8s);
  const double detect = seconds_since(t0);
  std::printf("c_node --net-ticktime 4: SIGSTOPped peer dropped after %.2f s (bound 8 s)\n",
              detect);
  RecordProperty("sigstop_detection_ms", static_cast<int>(detect * 1000));
  ASSERT_TRUE(dropped) << c.process.output();
  EXPECT_GE(detect, 1.5);  // a peer ticking every second is not dropped early
  EXPECT_LE(detect, 1.25 * 4 + 0.5);
  // nodedown fired: the c_node no longer lists it.
  auto r = run_client(Kind::erlang, "convoy_fixture:call({c_node, " + erl_atom(c.name) +
                                        "}, nodes, 5000), halt().");
  const auto nodes = printed_term(r.output, "CALL ok ");
  EXPECT_TRUE(nodes.ok() && nodes->is_list()) << r.output;
  EXPECT_FALSE(nodes.ok() && has_element(*nodes, atom(peer))) << r.output;

  // SIGCONT: the peer sees the link gone and pings again; the link comes back.
  p.signal(SIGCONT);
  EXPECT_TRUE(wait_until(
      [&] {
        return count_of(c.process.output(), "link up: " + peer) >= 2 &&
               count_of(p.output(), "KEEP pong") >= 2;
      },
      20s))
      << c.process.output() << "\n"
      << p.output();
  EXPECT_TRUE(c.process.running());
}

TEST(SemanticsTicks, SigstoppedPeerFiresNodedownNoconnectionAndReconnects) {
  auto peer = start_peer(Kind::erlang, "frz", {"-kernel", "net_ticktime", "4"});
  auto node = start_node("lib", std::chrono::seconds(4));
  // Shared: the node may still call its watchers while it is destroyed.
  auto events_ptr = std::make_shared<std::vector<std::pair<bool, Clock::time_point>>>();
  auto& events = *events_ptr;
  node->watch_nodes([events_ptr, name = peer.name](const std::string& who, bool up) {
    if (who == name) events_ptr->emplace_back(up, Clock::now());
  });
  auto ups = [&] {
    return std::count_if(events.begin(), events.end(), [](auto& e) { return e.first; });
  };
  auto downs = [&] { return static_cast<long>(events.size()) - ups(); };

  Inbox inbox;
  const Pid watcher = node->spawn(inbox.mailbox());
  Inbox trapped;
  const Pid trapper = node->spawn(trapped.mailbox(), {.trap_exit = true});
  const Pid plain = node->spawn([](Node&, const Pid&, const Term&) {});
  auto v = start_victim(*node, peer.name, "fv", false, std::nullopt);
  ASSERT_TRUE(v);
  // Only monitored, never linked: it survives the lost link.
  auto survivor = start_victim(*node, peer.name, "fw", false, std::nullopt);
  ASSERT_TRUE(survivor);
  const Ref survivor_ref = node->monitor(watcher, *survivor);
  const Ref by_pid = node->monitor(watcher, *v);
  const Ref by_name = node->monitor(watcher, RegName{"fv", peer.name});
  ASSERT_TRUE(node->link(trapper, *v).ok());
  ASSERT_TRUE(node->link(plain, *v).ok());
  // A call in flight when the node goes: Errc::not_connected, long before its 30 s timeout.
  std::optional<Result<Term>> in_flight;
  node->call({"stuck", peer.name}, atom("never"), 30s,
             [&](Result<Term> r) { in_flight = std::move(r); });
  // One round trip so every signal above has reached the peer.
  auto pong = call_and_wait(*node, {"fixture_server", peer.name}, atom("ping"), 10s);
  ASSERT_TRUE(pong.ok()) << describe(pong);
  ASSERT_EQ(ups(), 1);
  pump_for(*node, 3s);  // idle: only ticks flow (see the c_node variant above)

  const auto t0 = Clock::now();
  peer.process.signal(SIGSTOP);
  const bool all = pump(
      *node,
      [&] {
        return downs() >= 1 && find_down(inbox, by_pid) && find_down(inbox, by_name) &&
               find_down(inbox, survivor_ref) && trapped.has(exit_msg(*v, atom("noconnection"))) &&
               in_flight.has_value() && !node->is_alive(plain);
      },
      10s);
  const double waited = seconds_since(t0);
  double detect = -1;
  for (auto& [up, at] : events) {
    if (!up) detect = std::chrono::duration<double>(at - t0).count();
  }
  std::printf("in-process node, net_ticktime 4: SIGSTOPped peer down after %.2f s\n", detect);
  RecordProperty("inprocess_sigstop_detection_ms", static_cast<int>(detect * 1000));
  peer.process.signal(SIGCONT);
  EXPECT_TRUE(all) << "after " << waited << " s: downs=" << downs() << " " << inbox.dump()
                   << "\ntrapper " << trapped.dump() << "\nin_flight "
                   << (in_flight ? describe(*in_flight) : "pending")
                   << "\nplain alive=" << node->is_alive(plain);
  ASSERT_EQ(downs(), 1);
  EXPECT_GE(detect, 1.5);
  EXPECT_LE(detect, 1.25 * 4 + 0.5);
  ASSERT_TRUE(find_down(inbox, by_pid));
  EXPECT_EQ(*find_down(inbox, by_pid), down_msg(by_pid, Term::pid(*v), atom("noconnection")));
  ASSERT_TRUE(find_down(inbox, by_name));
  EXPECT_EQ(*find_down(inbox, by_name),
            down_msg(by_name, name_object("fv", peer.name), atom("noconnection")));
  ASSERT_TRUE(find_down(inbox, survivor_ref));
  EXPECT_EQ(*find_down(inbox, survivor_ref),
            down_msg(survivor_ref, Term::pid(*survivor), atom("noconnection")));
  if (in_flight) {
    ASSERT_FALSE(in_flight->ok());
    EXPECT_EQ(in_flight->error().code, make_error_code(Errc::not_connected))
        << describe(*in_flight);
  }
  EXPECT_FALSE(node->is_connected(peer.name));
  EXPECT_TRUE(node->is_alive(trapper));

  // Reconnect (the peer may need a moment after SIGCONT to notice the old link is gone).
  Status last = make_error(Errc::not_connected, "never tried");
  for (int attempt = 0; attempt < 10 && ups() < 2; ++attempt) {
    std::optional<Status> done;
    node->connect(*NodeName::parse(peer.name), [&](Status st) { done = st; });
    pump(
        *node, [&] { return done.has_value(); }, 10s);
    if (done) last = *done;
    if (ups() < 2) pump_for(*node, 500ms);
  }
  ASSERT_EQ(ups(), 2) << (last.ok() ? "ok" : last.error().message);
  pong = call_and_wait(*node, {"fixture_server", peer.name}, atom("ping"), 10s);
  ASSERT_TRUE(pong.ok()) << describe(pong);
  EXPECT_EQ(*pong, atom("pong"));
  // On the peer, the lost link was an exit signal `noconnection` to the linked (not
  // trapping) victim, as between BEAM nodes; the one only monitored lives on.
  const Ref linked_again = node->monitor(watcher, RegName{"fv", peer.name});
  const Ref survivor_again = node->monitor(watcher, RegName{"fw", peer.name});
  ASSERT_TRUE(pump(
      *node, [&] { return find_down(inbox, linked_again) != nullptr; }, 5s))
      << inbox.dump();
  EXPECT_EQ(*find_down(inbox, linked_again),
            down_msg(linked_again, name_object("fv", peer.name), atom("noproc")));
  pump_for(*node, 300ms);
  EXPECT_EQ(find_down(inbox, survivor_again), nullptr) << inbox.dump();
}

// =========================================================================================
// 9. Simultaneous connects
// =========================================================================================

// The C++ node and a BEAM node dial each other at the same wall-clock instants, round after
// round, the BEAM side disconnecting between rounds. `cpp_sname` sets which name is greater
// (the greater name's dial wins a simultaneous connect).
void simultaneous_rounds(const std::string& cpp_sname) {
  constexpr int kRounds = 8;
  constexpr int kDialOffsetMs[kRounds] = {0, 0, 1, 1, 1, 2, 2, 3};
  constexpr milliseconds kPeriod{1500};
  auto node = start_node(cpp_sname);
  auto sim = node->register_process(
      "sim", gen_server_mailbox({.handle_call = [](Node&, const Term&, const Term&)
                                     -> std::optional<Term> { return atom("pong"); },
                                 .handle_cast = {},
                                 .handle_info = {}}));
  ASSERT_TRUE(sim.ok());
  Inbox echoes;
  const Pid me = node->spawn(echoes.mailbox());

  // This node's logs at debug level (the other sinks keep their verbosity), to tell the
  // rounds where both sides really dialled ("dialling" and "accepted a connection").
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(20000);
  struct Unhook {
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> ring;
    spdlog::level::level_enum logger_level;
    std::vector<spdlog::level::level_enum> sink_levels;
    ~Unhook() {
      auto logger = spdlog::default_logger();
      auto& sinks = logger->sinks();
      sinks.erase(std::remove(sinks.begin(), sinks.end(), ring), sinks.end());
      for (std::size_t i = 0; i < sinks.size() && i < sink_levels.size(); ++i) {
        sinks[i]->set_level(sink_levels[i]);
      }
      logger->set_level(logger_level);
    }
  } unhook{ring, spdlog::default_logger()->level(), {}};
  for (auto& sink : spdlog::default_logger()->sinks()) {
    unhook.sink_levels.push_back(sink->level());
    sink->set_level(std::max(sink->level(), unhook.logger_level));
  }
  spdlog::default_logger()->sinks().push_back(ring);
  spdlog::default_logger()->set_level(spdlog::level::debug);
  const auto log_count = [&ring](const std::string& what) {
    std::size_t n = 0;
    for (const auto& line : ring->last_formatted()) n += contains(line, what) ? 1 : 0;
    return n;
  };

  const auto wall_now = [] {
    return std::chrono::duration_cast<milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const long long start = wall_now() + 8000;  // the BEAM node boots meanwhile
  auto beam = start_client(Kind::erlang,
                           "{ok, _} = convoy_fixture_echo:start(echo), "
                           "convoy_fixture_semantics:sim_rounds(" +
                               erl_atom(node->name().str()) + ", " + std::to_string(start) + ", " +
                               std::to_string(kPeriod.count()) + ", " + std::to_string(kRounds) +
                               ", sim), halt().",
                           {}, "mid");
  const auto peer = *NodeName::parse(beam.name);
  ASSERT_EQ(node->name().str() > beam.name, cpp_sname > std::string("mid")) << "name order";
  ASSERT_TRUE(wait_listening(beam.port, 7s)) << beam.process.output();
  ASSERT_LT(wall_now() + 200, start) << "the BEAM node took too long to boot";

  struct Round {
    std::optional<Status> connected;
    bool linked_mid = false;
    std::optional<Result<Term>> call;
    int ups = 0, downs = 0;
    std::size_t dialled = 0, accepted = 0;  // our dials / inbound connections this round
  };
  // Shared: the node may still call its watchers while it is destroyed.
  auto rounds_ptr = std::make_shared<std::vector<Round>>(kRounds);
  auto& rounds = *rounds_ptr;
  node->watch_nodes([rounds_ptr, who_beam = beam.name, start, wall_now, kPeriod](
                        const std::string& who, bool up) {
    const long long since = wall_now() - start + 100;
    if (who != who_beam || since < 0) return;
    const long long k = since / kPeriod.count();
    if (k >= kRounds) return;
    auto& r = (*rounds_ptr)[static_cast<std::size_t>(k)];
    (up ? r.ups : r.downs)++;
  });
  for (int k = 0; k < kRounds; ++k) {
    const long long at = start + k * kPeriod.count();
    // Our dial a little later on some rounds, so the two sides' handshakes interleave in
    // different orders (which side's name reaches the other first).
    node->after(milliseconds(at + kDialOffsetMs[k] - wall_now()), [&, k](Node& n) {
      n.connect(peer, [&, k](Status st) { rounds[k].connected = st; });
      // Queued while the link is being set up: must survive whichever dial wins.
      (void)n.send(RegName{"echo", beam.name},
                   tuple({Term::pid(me), tuple({atom("round"), Term::integer(k)})}));
    });
    node->after(milliseconds(at + kPeriod.count() / 3 - wall_now()), [&, k](Node& n) {
      rounds[k].linked_mid = n.is_connected(beam.name);
      rounds[k].dialled = log_count("dialling " + beam.name);
      rounds[k].accepted = log_count("accepted a connection from");
      for (int j = 0; j < k; ++j) {
        rounds[k].dialled -= rounds[j].dialled;
        rounds[k].accepted -= rounds[j].accepted;
      }
      n.call(RegName{"echo", beam.name}, atom("ping"), 300ms,
             [&, k](Result<Term> r) { rounds[k].call = std::move(r); });
    });
  }
  ASSERT_TRUE(pump(
      *node, [&] { return !beam.process.running(); },
      milliseconds(start - wall_now()) + kRounds * kPeriod + 20s))
      << beam.process.output();
  const auto out = beam.process.output();
  ASSERT_TRUE(contains(out, "ROUNDS done")) << out;

  std::size_t refused = 0, simultaneous = 0;
  std::string notable;
  for (const auto& line : ring->last_formatted()) {
    if (contains(line, "refused the connection")) ++refused;
    if (contains(line, "simultaneous")) ++simultaneous;
    if ((contains(line, "refused") || contains(line, "simultaneous") ||
         contains(line, "dropping")) &&
        count_of(notable, "\n") < 4) {
      notable += line;  // formatted lines end with a newline
    }
  }
  std::printf("%s vs %s: %zu log lines about refused dials, %zu about simultaneous connects\n",
              node->name().str().c_str(), beam.name.c_str(), refused, simultaneous);
  std::printf("%s", notable.c_str());
  const auto both = std::count_if(rounds.begin(), rounds.end(),
                                  [](const Round& r) { return r.dialled == 1 && r.accepted == 1; });
  std::printf("%ld of %d rounds had both sides dialling at once\n", static_cast<long>(both),
              kRounds);
  testing::Test::RecordProperty("simultaneous_rounds", static_cast<int>(both));
  for (int k = 0; k < kRounds; ++k) {
    const auto& r = rounds[k];
    const std::string beam_line = line_starting(out, "ROUND " + std::to_string(k) + " ");
    std::printf(
        "round %d (+%d ms): both dialled=%d C++ connect=%s linked=%d call=%s ups=%d downs=%d "
        "echo=%zu | %s\n",
        k, kDialOffsetMs[k], r.dialled == 1 && r.accepted == 1,
        !r.connected        ? "pending"
        : r.connected->ok() ? "ok"
                            : r.connected->error().message.c_str(),
        r.linked_mid, r.call ? describe(*r.call).c_str() : "pending", r.ups, r.downs,
        echoes.count(tuple({atom("round"), Term::integer(k)})), beam_line.c_str());
    SCOPED_TRACE("round " + std::to_string(k));
    EXPECT_EQ(beam_line,
              "ROUND " + std::to_string(k) + " connect=true listed=1 call=pong ups=1 stray=0/0");
    ASSERT_TRUE(r.connected.has_value());
    EXPECT_TRUE(r.connected->ok()) << r.connected->error().message;
    EXPECT_TRUE(r.linked_mid);
    ASSERT_TRUE(r.call.has_value());
    EXPECT_TRUE(r.call->ok() && **r.call == atom("pong")) << describe(*r.call);
    EXPECT_EQ(r.ups, 1);
    EXPECT_EQ(r.downs, 1);
    EXPECT_EQ(echoes.count(tuple({atom("round"), Term::integer(k)})), 1u) << echoes.dump();
  }
}

TEST(SemanticsConnect, SimultaneousConnectsEndWithOneLinkWhenTheBeamNameIsGreater) {
  simultaneous_rounds("aaa");
}

TEST(SemanticsConnect, SimultaneousConnectsEndWithOneLinkWhenTheCppNameIsGreater) {
  simultaneous_rounds("zzz");
}

}  // namespace
}  // namespace convoy::test
