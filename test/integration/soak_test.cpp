// Soak: messages through the c_node's `echo` from four BEAM peers at once (two Erlang, two
// Elixir), each with its own sequence numbers and a window of 500 in flight. Nothing may be
// lost or reordered, and the node's memory must come back once the peers have gone.
// CONVOY_SOAK_MESSAGES sets the total (default 40 000; `./run soak` sends 1 000 000).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace convoy::test {
namespace {

using Kind = BeamNode::Kind;

std::string erlang_client(const std::string& node, long n) {
  return "N = " + std::to_string(n) + ", Echo = {echo, " + erl_atom(node) +
         "}, pong = net_adm:ping(" + erl_atom(node) +
         "), W = 500, "
         "Send = fun(I) -> Echo ! {self(), {soak, I}} end, "
         "[Send(I) || I <- lists:seq(1, min(W, N))], "
         "Loop = fun L(Next, _) when Next > N -> ok; "
         "L(Next, Sent) -> receive {soak, Next} -> "
         "  case Sent < N of true -> Send(Sent + 1); false -> ok end, L(Next + 1, min(Sent + 1, "
         "N)); "
         "  {soak, Other} -> {reordered, Next, Other} "
         "after 10000 -> {lost, Next} end end, "
         "io:format(\"SOAK ~p~n\", [Loop(1, min(W, N))]), halt().";
}

std::string elixir_client(const std::string& node, long n) {
  return "n = " + std::to_string(n) + "; echo = {:echo, " + ex_atom(node) +
         "}; :pong = :net_adm.ping(" + ex_atom(node) +
         "); w = 500; "
         "send_i = fn i -> send(echo, {self(), {:soak, i}}) end; "
         "Enum.each(1..min(w, n), send_i); "
         "loop = fn loop, next, sent -> if next > n do :ok else receive do "
         "{:soak, ^next} -> if sent < n, do: send_i.(sent + 1); loop.(loop, next + 1, min(sent + "
         "1, n)); "
         "{:soak, other} -> {:reordered, next, other} "
         "after 10000 -> {:lost, next} end end end; "
         "IO.puts(\"SOAK \" <> (case loop.(loop, 1, min(w, n)) do :ok -> \"ok\"; "
         "other -> inspect(other) end))";
}

TEST(Soak, MessagesThroughEchoFromFourPeersArriveOnceAndInOrder) {
  const char* env = std::getenv("CONVOY_SOAK_MESSAGES");
  const long total = env ? std::strtol(env, nullptr, 10) : 40000;
  ASSERT_GE(total, 4);
  const long each = total / 4;
  auto c = CNode::start();
  ASSERT_TRUE(run_client(Kind::erlang, "pong = net_adm:ping(" + erl_atom(c.name) + "), halt().")
                  .exit_code.has_value());
  const long baseline = proc_status_kib(c.process.pid(), "VmRSS");
  std::vector<BeamNode> peers;
  peers.push_back(BeamNode::spawn(Kind::erlang, "soak1", erlang_client(c.name, each)));
  peers.push_back(BeamNode::spawn(Kind::elixir, "soak2", elixir_client(c.name, each)));
  peers.push_back(BeamNode::spawn(Kind::erlang, "soak3", erlang_client(c.name, each)));
  peers.push_back(BeamNode::spawn(Kind::elixir, "soak4", elixir_client(c.name, each)));
  long peak = baseline;
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60 + total / 2000);
  for (auto& p : peers) {
    while (p.process.running() && std::chrono::steady_clock::now() < limit) {
      peak = std::max(peak, proc_status_kib(c.process.pid(), "VmRSS"));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(p.process.wait(std::chrono::seconds(5)).has_value()) << p.process.output();
    EXPECT_NE(p.process.output().find("SOAK ok"), std::string::npos) << p.name << ":\n"
                                                                     << p.process.output();
  }
  peers.clear();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long after = proc_status_kib(c.process.pid(), "VmRSS");
  std::printf(
      "soak: %ld messages over 4 peers; c_node RSS %ld KiB before, %ld KiB peak, %ld KiB "
      "1 s after\n",
      each * 4, baseline, peak, after);
  RecordProperty("rss_kib_before", static_cast<int>(baseline));
  RecordProperty("rss_kib_peak", static_cast<int>(peak));
  RecordProperty("rss_kib_after", static_cast<int>(after));
  // Links, buffers and queues of the peers are gone with them; a leak per message would
  // show here (1 000 000 messages x 64 bytes = 61 MiB).
  EXPECT_LT(after, baseline + 32 * 1024) << "RSS did not come back after the peers left";
  EXPECT_TRUE(c.process.running()) << c.process.output();
}

}  // namespace
}  // namespace convoy::test
