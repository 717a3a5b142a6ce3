// Distribution semantics, rpc and calls: rpc/erpc (SPAWN_REQUEST), rpc:cast and the old `rex`
// path to the c_node and C++ functions; C++ calls to BEAM gen_servers (timeout, noproc, exit).
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "convoy/node.hpp"
#include "harness.hpp"
#include "printed_term.hpp"
#include "semantics_support.hpp"

namespace convoy::test {
namespace {

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

}  // namespace
}  // namespace convoy::test
