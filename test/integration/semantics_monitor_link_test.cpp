// Distribution semantics, monitors and links: monitors both ways (by pid and name, noproc at
// once, noconnection on a killed c_node), links and exit signals between C++ and BEAM.
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "convoy/node.hpp"
#include "harness.hpp"
#include "semantics_support.hpp"

namespace convoy::test {
namespace {

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

}  // namespace
}  // namespace convoy::test
