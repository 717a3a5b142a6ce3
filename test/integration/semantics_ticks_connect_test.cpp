// Distribution semantics, ticks and connects: dead-peer detection on a SIGSTOPped BEAM node
// (by the c_node and an in-process node), and simultaneous connects ending with one link.
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
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
  LogCapture log(spdlog::level::debug);
  const auto log_count = [&log](const std::string& what) { return log.count(what); };

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
  for (const auto& line : log.lines()) {
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
