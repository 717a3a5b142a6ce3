// Distribution semantics, gen_server: Erlang and Elixir calls and casts to the c_node service
// and to a C++ gen_server, and a call to a missing name failing fast with noproc.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convoy/node.hpp"
#include "convoy/services.hpp"
#include "harness.hpp"
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
