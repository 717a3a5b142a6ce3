// Two in-process nodes over a local transport (socketpairs, no ports): links, calls,
// monitors and simultaneous connects between convoy nodes, driven on one thread so every
// run interleaves the two loops the same way.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "convoy/node.hpp"
#include "convoy/transport.hpp"
#include "harness.hpp"

namespace convoy::test {
namespace {

Term atom(std::string_view a) { return Term::atom(a); }

class TwoNodes : public testing::Test {
 protected:
  void start(const std::string& a_sname, const std::string& b_sname) {
    a_ = local_node(transport_, a_sname);
    b_ = local_node(transport_, b_sname);
  }
  bool both(const std::function<bool()>& done, std::chrono::milliseconds limit = 3s) {
    return pump_both(*a_, *b_, done, limit);
  }
  void settle(std::chrono::milliseconds d = 50ms) {
    both([] { return false; }, d);
  }
  std::shared_ptr<Transport> transport_ = local_transport();
  std::unique_ptr<Node> a_, b_;
};

TEST_F(TwoNodes, ACallCrossesTheLinkAndComesBack) {
  start("aaa", "bbb");
  ASSERT_TRUE(
      b_->register_process(
            "svc", gen_server_mailbox({.handle_call = [](Node&, const Term& r,
                                                         const Term&) -> std::optional<Term> {
                                         return Term::tuple({atom("ok"), r});
                                       },
                                       .handle_cast = {},
                                       .handle_info = {}}))
          .ok());
  std::optional<Result<Term>> got;
  a_->call(RegName{"svc", b_->name().str()}, atom("hi"), 2s,
           [&](Result<Term> r) { got = std::move(r); });
  ASSERT_TRUE(both([&] { return got.has_value(); }));
  ASSERT_TRUE(got->ok()) << got->error().message;
  EXPECT_EQ(**got, Term::tuple({atom("ok"), atom("hi")}));
  EXPECT_TRUE(a_->is_connected(b_->name().str()));
  EXPECT_TRUE(b_->is_connected(a_->name().str()));
}

TEST_F(TwoNodes, StatsCountLinksHandshakesAndMessages) {
  start("aaa", "bbb");
  std::vector<Term> inbox;
  ASSERT_TRUE(b_->register_process("sink", [&](Node&, const Pid&, const Term& m) {
                  inbox.push_back(m);
                }).ok());
  NodeStats fresh;
  fresh.processes = a_->stats().processes;
  EXPECT_EQ(a_->stats(), fresh);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(a_->send(RegName{"sink", b_->name().str()}, Term::integer(i)).ok());
  }
  // Queued while the link is set up.
  EXPECT_EQ(a_->stats().pending_messages, 5u);
  EXPECT_GT(a_->stats().pending_bytes, 0u);
  ASSERT_TRUE(both([&] { return inbox.size() == 5; }));
  const NodeStats sa = a_->stats();
  const NodeStats sb = b_->stats();
  EXPECT_EQ(sa.peers_connected, 1u);
  EXPECT_EQ(sa.links_up, 1u);
  EXPECT_EQ(sa.pending_messages, 0u);
  EXPECT_EQ(sa.messages_out, 5u);
  EXPECT_EQ(sb.messages_in, 5u);
  EXPECT_EQ(sa.bytes_out, sb.bytes_in);
  EXPECT_EQ(sa.handshakes_accepted, 0u);  // a dialled
  EXPECT_EQ(sb.handshakes_accepted, 1u);

  b_->disconnect(a_->name().str());
  ASSERT_TRUE(both([&] { return a_->stats().peers_connected == 0; }));
  settle();
  EXPECT_EQ(a_->stats().links_down, (NodeStats::ByReason{{"closed", 1}}));
  EXPECT_EQ(b_->stats().links_down, (NodeStats::ByReason{{"closed", 1}}));
  EXPECT_EQ(a_->stats().tick_timeouts, 0u);
}

TEST_F(TwoNodes, AWrongCookieIsCountedAsARefusedHandshake) {
  a_ = local_node(transport_, "aaa");
  b_ = local_node(transport_, "bbb", [](NodeOptions& o) { o.cookie = "another-cookie"; });
  std::optional<Status> done;
  a_->connect(b_->name(), [&](Status st) { done = st; });
  ASSERT_TRUE(both([&] { return done.has_value(); }));
  EXPECT_FALSE(done->ok());
  settle();
  EXPECT_EQ(b_->stats().handshakes_refused.count("bad_cookie"), 1u)
      << b_->stats().handshakes_refused.size();
  EXPECT_EQ(a_->stats().dials_failed.size(), 1u);
  EXPECT_EQ(a_->stats().links_up + b_->stats().links_up, 0u);
}

TEST_F(TwoNodes, MessagesSentBeforeTheLinkExistsArriveOnceAndInOrder) {
  start("aaa", "bbb");
  std::vector<Term> inbox;
  ASSERT_TRUE(b_->register_process("sink", [&](Node&, const Pid&, const Term& m) {
                  inbox.push_back(m);
                }).ok());
  for (int k = 0; k < 1000; ++k) {
    ASSERT_TRUE(a_->send(RegName{"sink", b_->name().str()}, Term::integer(k)).ok());
  }
  ASSERT_TRUE(both([&] { return inbox.size() == 1000; }));
  for (int k = 0; k < 1000; ++k) EXPECT_EQ(inbox[k], Term::integer(k));
}

TEST_F(TwoNodes, MonitorsAndLinksAcrossTheLinkFireNoconnectionWhenItGoes) {
  start("aaa", "bbb");
  const Pid far = b_->spawn([](Node&, const Pid&, const Term&) {});
  std::vector<Term> inbox;
  const Pid near =
      a_->spawn([&](Node&, const Pid&, const Term& m) { inbox.push_back(m); }, {.trap_exit = true});
  const Ref ref = a_->monitor(near, far);
  ASSERT_TRUE(a_->link(near, far).ok());
  ASSERT_TRUE(both([&] { return a_->is_connected(b_->name().str()); }));
  settle();
  a_->disconnect(b_->name().str());
  ASSERT_TRUE(both([&] { return inbox.size() == 2; }));
  EXPECT_EQ(inbox[0], Term::tuple({atom("DOWN"), Term::ref(ref), atom("process"), Term::pid(far),
                                   atom("noconnection")}));
  EXPECT_EQ(inbox[1], Term::tuple({atom("EXIT"), Term::pid(far), atom("noconnection")}));
}

TEST_F(TwoNodes, ARemoteProcessEndingReachesMonitorsWithItsReason) {
  start("aaa", "bbb");
  const Pid far = b_->spawn([](Node&, const Pid&, const Term&) {});
  std::vector<Term> inbox;
  const Pid near = a_->spawn([&](Node&, const Pid&, const Term& m) { inbox.push_back(m); });
  const Ref ref = a_->monitor(near, far);
  ASSERT_TRUE(both([&] { return a_->is_connected(b_->name().str()); }));
  settle();
  b_->exit_process(far, atom("done"));
  ASSERT_TRUE(both([&] { return inbox.size() == 1; }));
  EXPECT_EQ(inbox[0], Term::tuple({atom("DOWN"), Term::ref(ref), atom("process"), Term::pid(far),
                                   atom("done")}));
}

// Both sides dial in the same turn, many times over, with either name the greater: every
// round ends with one link, both connects succeed, each side sees one nodeup, and the
// messages queued on both dials arrive once.
void simultaneous_rounds(const std::string& a_sname, const std::string& b_sname) {
  auto transport = local_transport();
  auto a = local_node(transport, a_sname);
  auto b = local_node(transport, b_sname);
  const std::string an = a->name().str(), bn = b->name().str();
  int a_ups = 0, b_ups = 0, a_downs = 0, b_downs = 0;
  a->watch_nodes([&](const std::string&, bool up) { (up ? a_ups : a_downs)++; });
  b->watch_nodes([&](const std::string&, bool up) { (up ? b_ups : b_downs)++; });
  std::vector<Term> at_a, at_b;
  ASSERT_TRUE(a->register_process("sink", [&](Node&, const Pid&, const Term& m) {
                 at_a.push_back(m);
               }).ok());
  ASSERT_TRUE(b->register_process("sink", [&](Node&, const Pid&, const Term& m) {
                 at_b.push_back(m);
               }).ok());
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::optional<Status> a_done, b_done;
    a->connect(*NodeName::parse(bn), [&](Status st) { a_done = st; });
    b->connect(*NodeName::parse(an), [&](Status st) { b_done = st; });
    ASSERT_TRUE(a->send(RegName{"sink", bn}, Term::integer(round)).ok());
    ASSERT_TRUE(b->send(RegName{"sink", an}, Term::integer(round)).ok());
    ASSERT_TRUE(pump_both(
        *a, *b,
        [&] {
          return a_done && b_done && at_a.size() == std::size_t(round + 1) &&
                 at_b.size() == std::size_t(round + 1);
        },
        5s));
    EXPECT_TRUE(a_done->ok()) << a_done->error().message;
    EXPECT_TRUE(b_done->ok()) << b_done->error().message;
    pump_both(
        *a, *b, [] { return false; }, 30ms);
    EXPECT_TRUE(a->is_connected(bn));
    EXPECT_TRUE(b->is_connected(an));
    EXPECT_EQ(a_ups, round + 1);
    EXPECT_EQ(b_ups, round + 1);
    EXPECT_EQ(a_downs, round);
    EXPECT_EQ(b_downs, round);
    EXPECT_EQ(at_a.back(), Term::integer(round));
    EXPECT_EQ(at_b.back(), Term::integer(round));
    a->disconnect(bn);
    ASSERT_TRUE(pump_both(
        *a, *b, [&] { return !a->is_connected(bn) && !b->is_connected(an); }, 3s));
  }
}

TEST(TwoNodesSimultaneous, ConnectsEndWithOneLinkWhenTheDialersNameIsLower) {
  simultaneous_rounds("aaa", "zzz");
}

TEST(TwoNodesSimultaneous, ConnectsEndWithOneLinkWhenTheDialersNameIsGreater) {
  simultaneous_rounds("zzz", "aaa");
}

// A local transport whose hosts ending in ".stuck" hang in name resolution, the way
// getaddrinfo does when the system resolver is down: lookup() blocks until released (at
// most 3 s), and so would connect() if it were ever given such a host to resolve itself.
class HangingLookups final : public Transport {
 public:
  Result<std::unique_ptr<Listener>> listen(const std::string& a, std::uint16_t port) override {
    return inner_->listen(a, port);
  }
  Result<std::unique_ptr<Socket>> connect(const std::string& host, std::uint16_t port) override {
    if (hangs(host)) hang();
    return inner_->connect(host, port);
  }
  bool needs_lookup(const std::string& host) const override { return hangs(host); }
  Result<std::string> lookup(const std::string& host) override {
    if (hangs(host)) hang();
    return make_error(Errc::io_error, "cannot resolve host '" + host + "': Temporary failure");
  }
  int hanging() const { return hanging_.load(); }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  static bool hangs(const std::string& host) { return host.ends_with(".stuck"); }
  void hang() {
    ++hanging_;
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 3s, [&] { return released_; });
    --hanging_;
  }
  std::shared_ptr<Transport> inner_ = local_transport();
  std::atomic<int> hanging_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
};

// Issue 9, defect 1: a message to a node whose host does not resolve (here a reply pid
// naming one) used to freeze the loop for the lookup's duration — every link with it.
TEST(TwoNodesResolution, AHostLookupThatHangsDoesNotStallTheOtherLinks) {
  auto transport = std::make_shared<HangingLookups>();
  auto a = local_node(transport, "aaa");
  auto b = local_node(transport, "bbb");
  ASSERT_TRUE(b->register_process(
                   "svc", gen_server_mailbox({.handle_call = [](Node&, const Term& r, const Term&)
                                                  -> std::optional<Term> { return r; },
                                              .handle_cast = {},
                                              .handle_info = {}}))
                  .ok());
  const RegName svc{"svc", b->name().str()};
  int replies = 0;
  auto call = [&] {
    a->call(svc, Term::integer(replies), 2s, [&](Result<Term> r) {
      if (r) ++replies;
    });
  };
  call();
  ASSERT_TRUE(pump_both(
      *a, *b, [&] { return replies == 1; }, 3s));
  const std::string ghost = "ghost-4370@nowhere.stuck";
  ASSERT_TRUE(a->send(RegName{"x", ghost}, Term::atom("lost")).ok());
  // The calls across the healthy link complete while the lookup still hangs.
  int hanging_when_done = -1;
  for (int k = 0; k < 20; ++k) {
    const int want = replies + 1;
    call();
    ASSERT_TRUE(pump_both(
        *a, *b, [&] { return replies == want; }, 3s))
        << "call " << k;
  }
  hanging_when_done = transport->hanging();
  transport->release();
  EXPECT_EQ(hanging_when_done, 1) << "the calls waited for the lookup";
  EXPECT_EQ(replies, 21);
  // The lookup fails; the dial with it, and nothing is left waiting.
  ASSERT_TRUE(pump_both(
      *a, *b, [&] { return transport->hanging() == 0; }, 5s));
  pump_both(
      *a, *b, [] { return false; }, 100ms);
  EXPECT_FALSE(a->is_connected(ghost));
  EXPECT_TRUE(a->is_connected(b->name().str()));
}

TEST(LocalTransport, APortNobodyListensOnRefusesAtOnce) {
  auto transport = local_transport();
  auto a = local_node(transport, "aaa");
  std::optional<Status> done;
  a->connect(*NodeName::parse("ghost-1@127.0.0.1"), [&](Status st) { done = st; });
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->ok());
}

TEST(LocalTransport, APortIsTakenOnce) {
  auto transport = local_transport();
  auto first = transport->listen("", 4321);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(transport->listen("", 4321).ok());
  first->reset();
  EXPECT_TRUE(transport->listen("", 4321).ok());
}

}  // namespace
}  // namespace convoy::test
