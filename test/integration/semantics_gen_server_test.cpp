// Distribution semantics, gen_server: Erlang and Elixir calls and casts to the c_node service
// and to a C++ gen_server, and a call to a missing name failing fast with noproc.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "convoy/node.hpp"
#include "convoy/services.hpp"
#include "harness.hpp"
#include "log_capture.hpp"
#include "printed_term.hpp"
#include "semantics_support.hpp"

namespace convoy::test {
namespace {

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

// An exception out of a C++ handler ends that one process, as an error ends an Erlang one:
// the caller's gen_server:call exits with the reason at once, a linked BEAM process gets
// the EXIT, the name is freed, and the rest of the node keeps serving.
TEST(SemanticsGenServer, ACppHandlerThatThrowsEndsOnlyItsProcess) {
  auto peer = start_peer(Kind::erlang, "crash");
  auto node = start_node();
  LogCapture log(spdlog::level::info);
  auto fragile = node->register_process(
      "fragile", gen_server_mailbox({.handle_call = [](Node&, const Term& req,
                                                       const Term&) -> std::optional<Term> {
                                       if (req.is_atom("boom")) {
                                         throw std::runtime_error("boom from C++");
                                       }
                                       return atom("pong");
                                     },
                                     .handle_cast = {},
                                     .handle_info = {}}));
  ASSERT_TRUE(fragile.ok()) << fragile.error().message;
  auto steady = node->register_process(
      "steady", gen_server_mailbox({.handle_call = [](Node&, const Term&, const Term&)
                                        -> std::optional<Term> { return atom("pong"); },
                                    .handle_cast = {},
                                    .handle_info = {}}));
  ASSERT_TRUE(steady.ok()) << steady.error().message;
  Inbox reports;
  const Pid observer = node->spawn(reports.mailbox());
  auto v = start_victim(*node, peer.name, "cw", true, observer);
  ASSERT_TRUE(v);
  ASSERT_TRUE(node->send(*v, tuple({atom("link_to"), Term::pid(*fragile)})).ok());
  ASSERT_TRUE(pump(
      *node,
      [&] {
        return reports.has(tuple({atom("linked"), atom("cw"), Term::pid(*v)}));
      },
      5s))
      << reports.dump();

  const auto n = erl_atom(node->name().str());
  // timed_call prints TCALL lines; the reasons are printed alone too, to be parsed.
  auto client = start_client(Kind::erlang,
                             "{error, R1} = convoy_fixture_semantics:timed_call({fragile, " + n +
                                 "}, boom, 10000), io:format(\"REASON ~w~n\", [R1]), "
                                 "convoy_fixture_semantics:timed_call({steady, " +
                                 n +
                                 "}, ping, 5000), "
                                 "{error, R2} = convoy_fixture_semantics:timed_call({fragile, " +
                                 n + "}, ping, 5000), io:format(\"REASON ~w~n\", [R2]), halt().");
  ASSERT_TRUE(pump(
      *node, [&] { return !client.process.running(); }, 60s))
      << client.process.output();
  const auto out = client.process.output();
  // The exit reason, not a timeout; then the name is free.
  const Term reason = tuple({atom("cpp_exception"), Term::binary("boom from C++")});
  EXPECT_EQ(printed_terms(out, "REASON "), (std::vector<Term>{reason, atom("noproc")})) << out;
  EXPECT_TRUE(contains(out, "TCALL ok pong ")) << out;
  EXPECT_TRUE(pump(
      *node,
      [&] {
        return reports.has(tuple({atom("victim_exit"), atom("cw"), Term::pid(*fragile), reason}));
      },
      5s))
      << reports.dump() << "\n"
      << peer.process.output();
  EXPECT_FALSE(node->is_alive(*fragile));
  EXPECT_TRUE(node->is_alive(*steady));
  EXPECT_TRUE(node->is_connected(peer.name));
  EXPECT_EQ(log.count("crashed: its handler threw: boom from C++"), 1u) << log.text();
  EXPECT_EQ(log.count("(fragile) crashed"), 1u) << log.text();
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

}  // namespace
}  // namespace convoy::test
