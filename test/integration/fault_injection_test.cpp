// Faults injected around a running c_node with live BEAM peers: a 64 MiB term both ways, a
// peer that floods and never reads next to a healthy one, hundreds of connect/disconnect
// cycles. The node must keep serving, lose nothing for the healthy peers and give back what
// it took. (Other faults live with their subjects: kill -9 and SIGSTOP of peers in c_node_test
// and the ticks tests, DNS failures in the discovery and resolver tests, hostile frames in the
// loopback HostilePeers tests.)
#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>

#include "harness.hpp"
#include "raw_peer.hpp"

namespace convoy::test {
namespace {

using Kind = BeamNode::Kind;

int open_fds(int pid) {
  int n = 0;
  if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

TEST(FaultInjection, A64MiBTermGoesBothWaysThroughEchoAndACall) {
  auto c = CNode::start();
  const auto n = erl_atom(c.name);
  auto r = run_client(Kind::erlang,
                      "pong = net_adm:ping(" + n +
                          "), B = binary:copy(<<\"0123456789abcdef\">>, 4194304), "
                          "{echo, " +
                          n +
                          "} ! {self(), B}, "
                          "E = receive B -> echo_ok after 30000 -> echo_timeout end, "
                          "C = case gen_server:call({c_node, " +
                          n +
                          "}, {echo, B}, 30000) of "
                          "B -> call_ok; _ -> call_wrong end, "
                          "io:format(\"BIG ~p ~p ~p~n\", [byte_size(B), E, C]), halt().",
                      120s);
  EXPECT_NE(r.output.find("BIG 67108864 echo_ok call_ok"), std::string::npos) << r.output;
  std::this_thread::sleep_for(1s);
  std::printf("64 MiB both ways: c_node VmHWM %ld KiB, VmRSS 1 s after %ld KiB\n",
              proc_status_kib(c.process.pid(), "VmHWM"), proc_status_kib(c.process.pid(), "VmRSS"));
  EXPECT_TRUE(c.process.running()) << c.process.output();
}

// A raw peer floods `echo` with 64 KiB requests and never reads a reply, while a BEAM peer
// does sequential echo round trips. Back-pressure pauses the flooder alone: the healthy peer
// is served throughout and the node's memory stays near link_output_high_water.
TEST(FaultInjection, ANeverReadingPeerDoesNotStallAHealthyOne) {
  auto c = CNode::start();
  const long baseline = proc_status_kib(c.process.pid(), "VmRSS");
  RawPeer flooder(c.port);
  const std::string self = "flooder@127.0.0.1";
  ASSERT_TRUE(flooder.handshake(self, c.name, kCookie));
  flooder.set_send_timeout(200ms);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread flood([&] {
    Bytes body{112};
    encode_append(Term::tuple({Term::integer(std::int64_t{6}), Term::pid(Pid{self, 1, 0, 5}),
                               Term::atom(""), Term::atom("echo")}),
                  body);
    encode_append(
        Term::tuple({Term::pid(Pid{self, 1, 0, 5}), Term::binary(std::string(64 * 1024, 'x'))}),
        body);
    const Bytes frame = RawPeer::frame(body);
    for (int k = 0; k < 4096 && !stop; ++k) {
      if (flooder.write(frame)) ++written;
    }
  });
  std::this_thread::sleep_for(500ms);  // the flooder's output piles up meanwhile
  auto r = run_client(
      Kind::erlang,
      "N = " + erl_atom(c.name) +
          ", pong = net_adm:ping(N), "
          "Trip = fun(I) -> T0 = erlang:monotonic_time(microsecond), "
          "{echo, N} ! {self(), I}, receive I -> ok after 5000 -> exit(lost) end, "
          "erlang:monotonic_time(microsecond) - T0 end, "
          "Ts = [Trip(I) || I <- lists:seq(1, 2000)], "
          "io:format(\"HEALTHY ~p ~p~n\", [lists:max(Ts), lists:sum(Ts) div length(Ts)]), "
          "halt().",
      120s);
  const long during = proc_status_kib(c.process.pid(), "VmRSS");
  stop = true;
  flood.join();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("HEALTHY ([0-9]+) ([0-9]+)"))) << r.output;
  std::printf(
      "never-reading peer: %d of 4096 64 KiB requests taken; healthy echo max %s us, mean "
      "%s us; c_node RSS %ld KiB before, %ld KiB during\n",
      written.load(), m[1].str().c_str(), m[2].str().c_str(), baseline, during);
  EXPECT_LT(written.load(), 4096) << "the node read everything from a peer that never reads";
  // A stall would be seconds (the loop frozen, or the healthy peer waiting behind the
  // flood); round trips here are tens of microseconds.
  EXPECT_LT(std::stol(m[1].str()), 1000000) << r.output;
  EXPECT_LT(during, baseline + 96 * 1024) << "the flooder's output was buffered without bound";
  EXPECT_TRUE(c.process.running()) << c.process.output();
}

// 500 connects and disconnects from one BEAM node: every cycle's call is served, and the
// node ends with the descriptors it started with.
TEST(FaultInjection, FiveHundredConnectDisconnectCyclesLeaveNothingBehind) {
  auto c = CNode::start();
  const int fds_before = open_fds(c.process.pid());
  auto r = run_client(Kind::erlang,
                      "N = " + erl_atom(c.name) +
                          ", "
                          "Cycle = fun(_) -> true = net_kernel:connect_node(N), "
                          "pong = gen_server:call({c_node, N}, ping, 5000), "
                          "true = erlang:disconnect_node(N), "
                          "lists:member(N, nodes(hidden)) andalso timer:sleep(1) end, "
                          "lists:foreach(Cycle, lists:seq(1, 500)), "
                          "io:format(\"CYCLES done~n\"), halt().",
                      180s);
  EXPECT_NE(r.output.find("CYCLES done"), std::string::npos) << r.output;
  // The last disconnect reaches the node a moment later.
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (open_fds(c.process.pid()) > fds_before && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(open_fds(c.process.pid()), fds_before);
  EXPECT_TRUE(c.process.running()) << c.process.output();
}

}  // namespace
}  // namespace convoy::test
