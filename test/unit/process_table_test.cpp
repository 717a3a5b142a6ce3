// ProcessTable alone: Erlang's process semantics across the node boundary, with a recording
// Env standing in for the links — no node, no sockets.
#include "node/process_table.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <stdexcept>

#include "log_capture.hpp"

namespace convoy::node {
namespace {

Term atom(std::string_view a) { return Term::atom(a); }

class Recorder : public ProcessTable::Env {
 public:
  Status route(const std::string& node, const dist::ControlMessage& m,
               const Term* payload) override {
    sent.push_back({node, m, payload ? std::optional<Term>(*payload) : std::nullopt});
    if (on_route) on_route(node);
    if (unreachable.contains(node)) return make_error(Errc::not_connected, "scripted");
    return {};
  }
  struct Sent {
    std::string node;
    dist::ControlMessage message;
    std::optional<Term> payload;
  };
  std::vector<Sent> sent;
  std::set<std::string> unreachable;
  std::function<void(const std::string&)> on_route;
};

class ProcessTableTest : public testing::Test {
 protected:
  ProcessTableTest()
      : identity_(ei::Identity::create(kSelf, "cookie", 77).value()),
        table_(identity_, kSelf, 77, env_) {}

  Pid quiet() {
    return table_.spawn([](Node&, const Pid&, const Term&) {}, {});
  }
  // What the mailboxes would receive now.
  std::vector<std::pair<Pid, Term>> drained() {
    std::vector<std::pair<Pid, Term>> out;
    table_.drain([&](const Mailbox&, const Pid& to, const Term& m) { out.emplace_back(to, m); });
    return out;
  }

  static constexpr const char* kSelf = "self-1@h";
  const Pid remote_{"peer-2@h", 40, 0, 3};
  const Ref remote_ref_{"peer-2@h", 3, {9, 8, 7}};
  ei::Identity identity_;
  Recorder env_;
  ProcessTable table_;
};

TEST_F(ProcessTableTest, ARemoteLinkBreaksWithNoconnectionAndTheExitTravelsOn) {
  const Pid victim = quiet();
  const Pid third{"third-3@h", 5, 0, 1};
  table_.remote_link("peer-2@h", remote_, victim);
  table_.remote_link("third-3@h", third, victim);
  table_.node_lost("peer-2@h");
  EXPECT_FALSE(table_.is_alive(victim));
  ASSERT_EQ(env_.sent.size(), 1u);
  EXPECT_EQ(env_.sent[0].node, "third-3@h");
  EXPECT_EQ(env_.sent[0].message,
            dist::ControlMessage(dist::Exit{victim, third, atom("noconnection"), std::nullopt}));
}

// Issue 9: what one remote node can make the table hold is bounded. Past the limit a link or
// monitor is refused with system_limit at once; undoing one, or the node going, frees room.
TEST_F(ProcessTableTest, LinksAndMonitorsHeldByOneRemoteNodeAreBounded) {
  table_.set_max_holds_per_node(3);
  const Pid a = quiet(), b = quiet();
  const Pid r2{"peer-2@h", 41, 0, 3}, r3{"peer-2@h", 42, 0, 3};
  const Ref ref2{"peer-2@h", 3, {1, 2, 3}};
  table_.remote_link("peer-2@h", remote_, a);
  table_.remote_link("peer-2@h", remote_, a);  // the same link again costs nothing
  table_.remote_link("peer-2@h", r2, b);
  table_.remote_monitor("peer-2@h", remote_, Term::pid(a), remote_ref_);
  EXPECT_EQ(table_.holds_of("peer-2@h"), 3u);
  EXPECT_TRUE(env_.sent.empty());
  table_.remote_link("peer-2@h", r3, b);
  table_.remote_monitor("peer-2@h", r2, Term::pid(b), ref2);
  ASSERT_EQ(env_.sent.size(), 2u);
  EXPECT_EQ(env_.sent[0].message,
            dist::ControlMessage(dist::Exit{b, r3, atom("system_limit"), std::nullopt}));
  EXPECT_EQ(env_.sent[1].message,
            dist::ControlMessage(dist::MonitorPExit{Term::pid(b), r2, ref2, atom("system_limit")}));
  EXPECT_EQ(table_.refused_holds(), 2u);
  // Another node has its own allowance.
  const Pid other{"third-3@h", 5, 0, 1};
  table_.remote_link("third-3@h", other, a);
  EXPECT_EQ(table_.holds_of("third-3@h"), 1u);
  // An unlink, a demonitor and a process's end each give room back; losing the node, all.
  table_.remote_unlink(r2, b);
  table_.remote_demonitor(Term::pid(a), remote_ref_);
  EXPECT_EQ(table_.holds_of("peer-2@h"), 1u);
  table_.exit(b, atom("normal"));
  table_.remote_link("peer-2@h", r3, a);
  EXPECT_EQ(table_.holds_of("peer-2@h"), 2u);
  table_.node_lost("peer-2@h");
  EXPECT_EQ(table_.holds_of("peer-2@h"), 0u);
}

TEST_F(ProcessTableTest, ATrappingProcessGetsTheExitAsAMessage) {
  const Pid trapper = table_.spawn([](Node&, const Pid&, const Term&) {}, {.trap_exit = true});
  table_.remote_link("peer-2@h", remote_, trapper);
  table_.remote_exit(remote_, trapper, atom("boom"), true);
  EXPECT_TRUE(table_.is_alive(trapper));
  auto got = drained();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].second, Term::tuple({atom("EXIT"), Term::pid(remote_), atom("boom")}));
  // Not linked any more: a second EXIT over the same link is ignored.
  table_.remote_exit(remote_, trapper, atom("again"), true);
  EXPECT_TRUE(drained().empty());
}

TEST_F(ProcessTableTest, AMonitorOnAMissingNameAnswersNoprocToThePeer) {
  table_.remote_monitor("peer-2@h", remote_, atom("nobody"), remote_ref_);
  ASSERT_EQ(env_.sent.size(), 1u);
  EXPECT_EQ(env_.sent[0].message, dist::ControlMessage(dist::MonitorPExit{
                                      atom("nobody"), remote_, remote_ref_, atom("noproc")}));
}

TEST_F(ProcessTableTest, ARemoteMonitorFiresWithTheExitReasonAndTheNameItUsed) {
  auto pid = table_.register_process("svc", [](Node&, const Pid&, const Term&) {}, {});
  ASSERT_TRUE(pid.ok());
  table_.remote_monitor("peer-2@h", remote_, atom("svc"), remote_ref_);
  table_.exit(*pid, atom("shutdown"));
  ASSERT_EQ(env_.sent.size(), 1u);
  EXPECT_EQ(env_.sent[0].message, dist::ControlMessage(dist::MonitorPExit{
                                      atom("svc"), remote_, remote_ref_, atom("shutdown")}));
  EXPECT_FALSE(table_.whereis("svc"));  // the name is free again
}

TEST_F(ProcessTableTest, AMonitorOnARemoteProcessFiresNoconnectionWhenItsNodeIsLost) {
  const Pid watcher = quiet();
  const Ref ref = table_.monitor(watcher, Term::pid(remote_), remote_.node, Term::pid(remote_));
  ASSERT_EQ(env_.sent.size(), 1u);
  EXPECT_EQ(env_.sent[0].message,
            dist::ControlMessage(dist::MonitorP{watcher, Term::pid(remote_), ref}));
  table_.node_lost(remote_.node);
  auto got = drained();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].second, Term::tuple({atom("DOWN"), Term::ref(ref), atom("process"),
                                        Term::pid(remote_), atom("noconnection")}));
}

TEST_F(ProcessTableTest, AMonitorThatCannotBeSentFiresAtOnce) {
  env_.unreachable.insert(remote_.node);
  const Pid watcher = quiet();
  const Ref ref = table_.monitor(watcher, Term::pid(remote_), remote_.node, Term::pid(remote_));
  auto got = drained();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(*got[0].second.element(1), Term::ref(ref));
  EXPECT_EQ(*got[0].second.element(4), atom("noconnection"));
}

TEST_F(ProcessTableTest, UnlinkSendsUnlinkIdWithFreshIds) {
  const Pid a = quiet();
  ASSERT_TRUE(table_.link(a, remote_).ok());
  ASSERT_TRUE(table_.unlink(a, remote_).ok());
  ASSERT_TRUE(table_.link(a, remote_).ok());
  ASSERT_TRUE(table_.unlink(a, remote_).ok());
  ASSERT_EQ(env_.sent.size(), 4u);
  const auto* u1 = std::get_if<dist::UnlinkId>(&env_.sent[1].message);
  const auto* u2 = std::get_if<dist::UnlinkId>(&env_.sent[3].message);
  ASSERT_TRUE(u1 && u2);
  EXPECT_NE(u1->id, u2->id);
  EXPECT_EQ(u1->from, a);
  EXPECT_EQ(u1->to, remote_);
}

TEST_F(ProcessTableTest, KillCannotBeTrappedButALinkedKillIsJustAReason) {
  const Pid trapper = table_.spawn([](Node&, const Pid&, const Term&) {}, {.trap_exit = true});
  table_.remote_exit(remote_, trapper, atom("kill"), false);  // exit/2 with kill
  EXPECT_FALSE(table_.is_alive(trapper));
  const Pid other = table_.spawn([](Node&, const Pid&, const Term&) {}, {.trap_exit = true});
  table_.remote_link("peer-2@h", remote_, other);
  table_.remote_exit(remote_, other, atom("kill"), true);  // a linked process was killed
  EXPECT_TRUE(table_.is_alive(other));
}

// As in OTP, an exception ends the one process whose handler threw: its links, monitors and
// name go as with any exit, with the exception as the reason; the rest of the queue runs.
TEST_F(ProcessTableTest, AHandlerThatThrowsEndsOnlyItsProcessWithTheExceptionAsReason) {
  const Pid fragile =
      table_.register_process("fragile", [](Node&, const Pid&, const Term&) {}, {}).value();
  const Pid trapper = table_.spawn([](Node&, const Pid&, const Term&) {}, {.trap_exit = true});
  const Pid bystander = quiet();
  const Pid watcher = quiet();
  ASSERT_TRUE(table_.link(trapper, fragile).ok());
  table_.remote_link("peer-2@h", remote_, fragile);
  const Ref local_ref = table_.monitor(watcher, Term::pid(fragile), kSelf, Term::pid(fragile));
  table_.remote_monitor("peer-2@h", remote_, Term::pid(fragile), remote_ref_);
  table_.deliver(fragile, atom("boom"));
  table_.deliver(bystander, atom("still_served"));
  table_.deliver(fragile, atom("never_seen"));

  std::vector<std::pair<Pid, Term>> ran;
  table_.drain([&](const Mailbox&, const Pid& to, const Term& m) {
    ran.emplace_back(to, m);
    if (to == fragile) throw std::runtime_error("handler failed");
  });
  const Term reason = Term::tuple({atom("cpp_exception"), Term::binary("handler failed")});
  EXPECT_FALSE(table_.is_alive(fragile));
  EXPECT_FALSE(table_.whereis("fragile").has_value());
  EXPECT_TRUE(table_.is_alive(bystander));
  EXPECT_TRUE(table_.is_alive(trapper));
  // The bystander's message ran; the dead process's second message vanished.
  EXPECT_EQ(ran, (std::vector<std::pair<Pid, Term>>{{fragile, atom("boom")},
                                                    {bystander, atom("still_served")}}));
  std::vector<dist::ControlMessage> sent;
  for (const auto& s : env_.sent) sent.push_back(s.message);
  EXPECT_EQ(sent, (std::vector<dist::ControlMessage>{
                      dist::Exit{fragile, remote_, reason, std::nullopt},
                      dist::MonitorPExit{Term::pid(fragile), remote_, remote_ref_, reason}}));
  const auto after = drained();
  EXPECT_EQ(after, (std::vector<std::pair<Pid, Term>>{
                       {trapper, Term::tuple({atom("EXIT"), Term::pid(fragile), reason})},
                       {watcher, Term::tuple({atom("DOWN"), Term::ref(local_ref), atom("process"),
                                              Term::pid(fragile), reason})}}));
}

TEST_F(ProcessTableTest, AnExceptionNotFromStdExceptionStillEndsTheProcessAlone) {
  const Pid fragile = quiet();
  const Pid trapper = table_.spawn([](Node&, const Pid&, const Term&) {}, {.trap_exit = true});
  ASSERT_TRUE(table_.link(trapper, fragile).ok());
  table_.deliver(fragile, atom("boom"));
  table_.drain([](const Mailbox&, const Pid&, const Term&) { throw 42; });
  EXPECT_FALSE(table_.is_alive(fragile));
  const auto after = drained();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(
      after[0].second,
      Term::tuple({atom("EXIT"), Term::pid(fragile),
                   Term::tuple({atom("cpp_exception"),
                                Term::binary("an exception not derived from std::exception")})}));
}

// Every end with a reason other than normal/shutdown is a line, as OTP's crash reports are,
// but a storm (a node loss ending thousands of linked processes) is a few lines and a count.
TEST_F(ProcessTableTest, NonNormalExitsAreLoggedAndAStormIsCounted) {
  test::LogCapture log(spdlog::level::info);
  table_.exit(quiet(), atom("normal"));
  table_.exit(quiet(), atom("shutdown"));
  table_.exit(quiet(), Term::tuple({atom("shutdown"), atom("app_stopping")}));
  EXPECT_EQ(log.count("exited"), 0u) << log.text();
  const Pid named =
      table_.register_process("worker", [](Node&, const Pid&, const Term&) {}, {}).value();
  table_.exit(named, atom("boom"));
  EXPECT_EQ(log.count("(worker) exited: boom"), 1u) << log.text();
  for (int k = 0; k < 100; ++k) table_.exit(quiet(), atom("noconnection"));
  EXPECT_LT(log.count("exited: noconnection"), 25u) << log.text();
  EXPECT_GT(log.count("exited: noconnection"), 0u) << log.text();
}

// A route that fails at once (a dial that cannot start) loses that node too, from inside
// a walk over the table: the walk must survive the table changing under it.
TEST_F(ProcessTableTest, ANodeLostFromInsideAnExitLeavesTheTableSound) {
  const std::string ghost = "ghost-9@h";
  std::vector<Pid> victims;
  for (int k = 0; k < 50; ++k) {
    const Pid v = quiet();
    table_.remote_link("peer-2@h", remote_, v);
    table_.remote_link(ghost, Pid{ghost, static_cast<std::uint32_t>(k), 0, 1}, v);
    const Pid w = quiet();
    table_.monitor(w, Term::pid(Pid{ghost, 100, 0, 1}), ghost, atom("x"));
    victims.push_back(v);
  }
  env_.on_route = [&](const std::string& node) {
    if (node == ghost) table_.node_lost(ghost);
  };
  table_.node_lost("peer-2@h");
  for (const Pid& v : victims) EXPECT_FALSE(table_.is_alive(v));
  EXPECT_EQ(table_.size(), 50u);  // the watchers live on
}

}  // namespace
}  // namespace convoy::node
