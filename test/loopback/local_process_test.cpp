// Local process semantics on one in-process node (on a local transport: no port at all):
// links, monitors, exit signals and calls between C++ processes follow Erlang's rules.
#include <gtest/gtest.h>

#include "convoy/node.hpp"
#include "harness.hpp"

namespace convoy::test {
namespace {

class LocalProcesses : public testing::Test {
 protected:
  void SetUp() override { node_ = local_node(local_transport(), "local"); }
  // A process that records what it receives.
  Pid recorder(std::vector<Term>& inbox, bool trap_exit = false) {
    return node_->spawn([&inbox](Node&, const Pid&, const Term& m) { inbox.push_back(m); },
                        {.trap_exit = trap_exit});
  }
  void settle() {
    node_->run_until([] { return false; }, std::chrono::milliseconds(50));
  }
  std::unique_ptr<Node> node_;
};

TEST_F(LocalProcesses, MonitorReportsTheExitReason) {
  std::vector<Term> inbox;
  const Pid watcher = recorder(inbox);
  const Pid target = node_->spawn([](Node&, const Pid&, const Term&) {});
  const Ref ref = node_->monitor(watcher, target);
  node_->exit_process(target, Term::atom("boom"));
  settle();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0], Term::tuple({Term::atom("DOWN"), Term::ref(ref), Term::atom("process"),
                                   Term::pid(target), Term::atom("boom")}));
}

TEST_F(LocalProcesses, MonitorOnAMissingNameIsNoprocAtOnce) {
  std::vector<Term> inbox;
  const Pid watcher = recorder(inbox);
  const Ref ref = node_->monitor(watcher, RegName{"nobody", ""});
  settle();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(*inbox[0].element(1), Term::ref(ref));
  EXPECT_EQ(*inbox[0].element(3),
            Term::tuple({Term::atom("nobody"), Term::atom(node_->name().str())}));
  EXPECT_EQ(*inbox[0].element(4), Term::atom("noproc"));
}

TEST_F(LocalProcesses, DemonitorSilencesTheMonitor) {
  std::vector<Term> inbox;
  const Pid watcher = recorder(inbox);
  const Pid target = node_->spawn([](Node&, const Pid&, const Term&) {});
  node_->demonitor(watcher, node_->monitor(watcher, target));
  node_->exit_process(target, Term::atom("boom"));
  settle();
  EXPECT_TRUE(inbox.empty());
}

TEST_F(LocalProcesses, AbnormalExitPropagatesAlongLinksUnlessTrapped) {
  std::vector<Term> trapped_inbox, plain_inbox;
  const Pid a = node_->spawn([](Node&, const Pid&, const Term&) {});
  const Pid plain = recorder(plain_inbox);
  const Pid trapper = recorder(trapped_inbox, true);
  ASSERT_TRUE(node_->link(plain, a).ok());
  ASSERT_TRUE(node_->link(trapper, plain).ok());
  node_->exit_process(a, Term::atom("crash"));  // a -> plain (dies) -> trapper (message)
  settle();
  EXPECT_FALSE(node_->is_alive(plain));
  EXPECT_TRUE(node_->is_alive(trapper));
  ASSERT_EQ(trapped_inbox.size(), 1u);
  EXPECT_EQ(trapped_inbox[0],
            Term::tuple({Term::atom("EXIT"), Term::pid(plain), Term::atom("crash")}));
  EXPECT_TRUE(plain_inbox.empty());
}

TEST_F(LocalProcesses, NormalExitDoesNotKillLinkedProcesses) {
  std::vector<Term> inbox;
  const Pid a = node_->spawn([](Node&, const Pid&, const Term&) {});
  const Pid b = recorder(inbox);
  ASSERT_TRUE(node_->link(b, a).ok());
  node_->exit_process(a);
  settle();
  EXPECT_TRUE(node_->is_alive(b));
}

TEST_F(LocalProcesses, UnlinkStopsPropagation) {
  const Pid a = node_->spawn([](Node&, const Pid&, const Term&) {});
  const Pid b = node_->spawn([](Node&, const Pid&, const Term&) {});
  ASSERT_TRUE(node_->link(a, b).ok());
  ASSERT_TRUE(node_->unlink(b, a).ok());
  node_->exit_process(a, Term::atom("crash"));
  EXPECT_TRUE(node_->is_alive(b));
}

TEST_F(LocalProcesses, ExitSignalsFollowExit2Rules) {
  std::vector<Term> inbox;
  const Pid sender = node_->spawn([](Node&, const Pid&, const Term&) {});
  const Pid trapper = recorder(inbox, true);
  ASSERT_TRUE(node_->exit(sender, trapper, Term::atom("please")).ok());
  settle();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_TRUE(node_->is_alive(trapper));
  // kill cannot be trapped; the monitor sees `killed`.
  std::vector<Term> watch;
  const Pid watcher = recorder(watch);
  node_->monitor(watcher, trapper);
  ASSERT_TRUE(node_->exit(sender, trapper, Term::atom("kill")).ok());
  settle();
  EXPECT_FALSE(node_->is_alive(trapper));
  ASSERT_EQ(watch.size(), 1u);
  EXPECT_EQ(*watch[0].element(4), Term::atom("killed"));
}

TEST_F(LocalProcesses, LinkingToADeadProcessSignalsNoproc) {
  std::vector<Term> inbox;
  const Pid dead = node_->spawn([](Node&, const Pid&, const Term&) {});
  node_->exit_process(dead);
  const Pid trapper = recorder(inbox, true);
  ASSERT_TRUE(node_->link(trapper, dead).ok());
  settle();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(*inbox[0].element(2), Term::atom("noproc"));
}

TEST_F(LocalProcesses, CallsBetweenLocalProcessesReportReplyNoprocAndExit) {
  ASSERT_TRUE(
      node_
          ->register_process(
              "adder", gen_server_mailbox({.handle_call = [](Node&, const Term& r, const Term&)
                                               -> std::optional<Term> { return r; },
                                           .handle_cast = {},
                                           .handle_info = {}}))
          .ok());
  std::optional<Result<Term>> got;
  node_->call(RegName{"adder", ""}, Term::atom("hi"), std::chrono::seconds(2),
              [&](Result<Term> r) { got = std::move(r); });
  node_->run_until([&] { return got.has_value(); }, std::chrono::seconds(5));
  ASSERT_TRUE(got && got->ok());
  EXPECT_EQ(**got, Term::atom("hi"));

  got.reset();
  node_->call(RegName{"nobody", ""}, Term::atom("hi"), std::chrono::seconds(30),
              [&](Result<Term> r) { got = std::move(r); });
  node_->run_until([&] { return got.has_value(); }, std::chrono::seconds(5));
  ASSERT_TRUE(got && !got->ok());
  EXPECT_EQ(got->error().code, make_error_code(Errc::noproc));

  // A server that never answers and then dies: the caller learns why.
  const Pid silent = node_->spawn([](Node&, const Pid&, const Term&) {});
  got.reset();
  node_->call(silent, Term::atom("hi"), std::chrono::seconds(30),
              [&](Result<Term> r) { got = std::move(r); });
  node_->after(std::chrono::milliseconds(20),
               [silent](Node& n) { n.exit_process(silent, Term::atom("crashed")); });
  node_->run_until([&] { return got.has_value(); }, std::chrono::seconds(5));
  ASSERT_TRUE(got && !got->ok());
  EXPECT_EQ(got->error().code, make_error_code(Errc::process_exit));
  EXPECT_NE(got->error().message.find("crashed"), std::string::npos);
}

// A cookie longer than erl_interface takes is named as the problem (it used to read as
// "node name too long?").
TEST(NodeStart, AnOverlongCookieIsReportedAsTheCookie) {
  auto opts = loopback_options("cookie");
  opts.cookie = std::string(64 * 1024, 'c');
  auto n = Node::start(std::move(opts));
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find("cookie is 65536 bytes"), std::string::npos)
      << n.error().message;
}

}  // namespace
}  // namespace convoy::test
