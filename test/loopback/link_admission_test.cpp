// Who may open, replace or supersede a link, tried against in-process nodes by peers that
// stop half-way through the handshake or claim another node's name. OTP's rules
// (dist_util.erl, net_kernel.erl): one pending entry per peer name whichever side started
// it, the greater name wins a simultaneous connect, `alive` for a peer already connected —
// and here, stricter than OTP, nothing is closed or superseded on behalf of a connection
// that has not proven the cookie.
#include <gtest/gtest.h>

#include <thread>

#include "convoy/node.hpp"
#include "harness.hpp"
#include "raw_peer.hpp"

namespace convoy::test {
namespace {

std::unique_ptr<Node> node_with(const std::string& sname,
                                const std::function<void(NodeOptions&)>& tweak) {
  auto opts = loopback_options(sname);
  tweak(opts);
  auto node = Node::start(std::move(opts));
  if (!node) throw std::runtime_error(node.error().message);
  return std::move(*node);
}

// A node running its loop on a thread of its own; touched only through post().
class Background {
 public:
  explicit Background(std::unique_ptr<Node> node)
      : node_(std::move(node)), name_(node_->name().str()), thread_([this] { node_->run(); }) {}
  ~Background() {
    node_->stop();
    thread_.join();
  }
  const std::string& name() const { return name_; }

 private:
  std::unique_ptr<Node> node_;
  std::string name_;
  std::jthread thread_;
};

struct Watched {
  int ups = 0, downs = 0;
};
std::shared_ptr<Watched> watch(Node& node, const std::string& peer) {
  auto w = std::make_shared<Watched>();
  node.watch_nodes([w, peer](const std::string& who, bool up) {
    if (who == peer) (up ? w->ups : w->downs)++;
  });
  return w;
}

void settle(Node& node, std::chrono::milliseconds d) {
  pump(
      node, [] { return false; }, d);
}

// Connects `node` to `peer` and waits (bounded) for the outcome.
Status connect_and_wait(Node& node, const std::string& peer) {
  std::optional<Status> up;
  node.connect(*NodeName::parse(peer), [&](Status st) { up = st; });
  if (!pump(
          node, [&] { return up.has_value(); }, 5s)) {
    return make_error(Errc::timeout, "the test gave up waiting for connect()");
  }
  return *up;
}

// Defect: a bare 'N' carrying a connected peer's name replaced the healthy link at once.
TEST(LinkAdmission, UnauthenticatedNameOfAConnectedPeerGetsAliveAndDropsNothing) {
  auto a = start_node("aaa");
  Background b(start_node("bbb"));
  const Status up = connect_and_wait(*a, b.name());
  ASSERT_TRUE(up.ok()) << up.error().message;
  auto seen = watch(*a, b.name());

  for (int round = 0; round < 3; ++round) {
    RawPeer attacker(a->name().port());
    ASSERT_TRUE(attacker.write(RawPeer::name_message(b.name())));
    std::optional<Bytes> status;
    std::jthread reader([&] { status = attacker.read_handshake_message(); });
    settle(*a, 200ms);
    reader.join();
    ASSERT_TRUE(status.has_value()) << "no status for the claimed name";
    EXPECT_EQ(std::string(status->begin(), status->end()), "salive");
  }
  settle(*a, 300ms);
  EXPECT_TRUE(a->is_connected(b.name()));
  EXPECT_EQ(seen->downs, 0);
}

// Going one step further without the cookie: answer `alive` with `true`, then fail the
// challenge. The old link must still stand.
TEST(LinkAdmission, WrongCookieAfterAliveLeavesTheOldLinkStanding) {
  auto a = start_node("aaa");
  Background b(start_node("bbb"));
  const Status up = connect_and_wait(*a, b.name());
  ASSERT_TRUE(up.ok()) << up.error().message;
  auto seen = watch(*a, b.name());

  RawPeer attacker(a->name().port());
  std::string status;
  bool finished = true;
  std::jthread t([&] {
    status = attacker.handshake_begin(b.name(), a->name().str(), "not-the-cookie");
    finished = attacker.handshake_finish();
  });
  settle(*a, 500ms);
  t.join();
  EXPECT_EQ(status, "alive");
  EXPECT_FALSE(finished);
  settle(*a, 200ms);
  EXPECT_TRUE(a->is_connected(b.name()));
  EXPECT_EQ(seen->downs, 0);
}

// A peer that really restarted (its old link is dead but not yet noticed) dials again:
// `alive`, then the cookie, and only then the new link replaces the old one.
TEST(LinkAdmission, AuthenticatedReconnectReplacesTheOldLink) {
  auto a = start_node("aaa");
  const std::string claimed = "bbb-1@127.0.0.1";
  RawPeer first(a->name().port());
  std::jthread t1([&] { EXPECT_TRUE(first.handshake(claimed, a->name().str(), kCookie)); });
  ASSERT_TRUE(pump(
      *a, [&] { return a->is_connected(claimed); }, 5s));
  t1.join();
  auto seen = watch(*a, claimed);

  RawPeer second(a->name().port());
  std::string status;
  bool finished = false;
  std::jthread t2([&] {
    status = second.handshake_begin(claimed, a->name().str(), kCookie);
    finished = second.handshake_finish();
  });
  ASSERT_TRUE(pump(
      *a, [&] { return seen->ups == 1; }, 5s));
  t2.join();
  EXPECT_EQ(status, "alive");
  EXPECT_TRUE(finished);
  EXPECT_EQ(seen->downs, 1);  // the old link, replaced
  EXPECT_TRUE(first.wait_closed(2s));
  EXPECT_TRUE(a->is_connected(claimed));
}

// Defect: an unauthenticated name of a peer we are dialling (whose name sorts above ours)
// marked the dial superseded without completing its waiters: they waited forever.
TEST(LinkAdmission, UnauthenticatedNameDoesNotStrandADialInProgress) {
  auto a = node_with("aaa", [](NodeOptions& o) { o.setup_timeout = 1000ms; });
  SilentListener hung;  // accepts the dial, never answers
  const std::string peer = "zzz-" + std::to_string(hung.port()) + "@127.0.0.1";
  std::optional<Status> outcome;
  a->connect(*NodeName::parse(peer), [&](Status st) { outcome = st; });
  settle(*a, 100ms);

  RawPeer attacker(a->name().port());
  ASSERT_TRUE(attacker.write(RawPeer::name_message(peer)));
  std::optional<Bytes> status;
  std::jthread reader([&] { status = attacker.read_handshake_message(); });
  ASSERT_TRUE(pump(
      *a, [&] { return outcome.has_value(); }, 4s))
      << "the dial's waiter was stranded";
  reader.join();
  EXPECT_FALSE(outcome->ok());  // the hung peer never answered: the dial timed out
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(std::string(status->begin(), status->end()), "sok_simultaneous");

  // And the peer can be dialled again.
  std::optional<Status> again;
  a->connect(*NodeName::parse(peer), [&](Status st) { again = st; });
  ASSERT_TRUE(pump(
      *a, [&] { return again.has_value(); }, 4s));
  EXPECT_EQ(hung.accept_all(), 2);
}

// Defect: an inbound handshake answered `ok` was not the peer's pending link, so a connect
// to that peer dialled it too; an OTP peer with the lower name then dropped its own
// connection for our dial, and our dial was closed as a duplicate — the link flapped.
TEST(LinkAdmission, InboundHandshakeInProgressIsThePeersPendingLink) {
  auto a = start_node("zzz");
  SilentListener peer_port;  // where a dial to the peer would land
  const std::string peer = "aaa-" + std::to_string(peer_port.port()) + "@127.0.0.1";
  RawPeer inbound(a->name().port());
  std::string status;
  std::jthread t([&] { status = inbound.handshake_begin(peer, a->name().str(), kCookie); });
  settle(*a, 200ms);
  t.join();
  ASSERT_EQ(status, "ok");

  std::optional<Status> connected;
  a->connect(*NodeName::parse(peer), [&](Status st) { connected = st; });
  std::optional<Term> delivered;
  const Pid me{peer, 1, 0, 5};
  ASSERT_TRUE(a->send(me, Term::atom("queued")).ok());
  settle(*a, 200ms);
  EXPECT_EQ(peer_port.accept_all(), 0) << "dialled a peer whose inbound handshake was pending";
  EXPECT_FALSE(connected.has_value());

  bool finished = false;
  std::jthread t2([&] { finished = inbound.handshake_finish(); });
  ASSERT_TRUE(pump(
      *a, [&] { return connected.has_value(); }, 3s));
  t2.join();
  EXPECT_TRUE(finished);
  EXPECT_TRUE(connected->ok()) << connected->error().message;
  EXPECT_TRUE(a->is_connected(peer));
  // The message queued meanwhile went out on the inbound link.
  std::optional<dist::Frame> m;
  std::jthread t3([&] { m = inbound.read_message(); });
  settle(*a, 200ms);
  t3.join();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->control, dist::ControlMessage(dist::Send{me, std::nullopt, std::nullopt}));
  EXPECT_EQ(m->payload, Term::atom("queued"));
  EXPECT_EQ(peer_port.accept_all(), 0);
}

// If that inbound handshake fails (here: the wrong cookie), what waits for the peer is not
// lost: the node dials it.
TEST(LinkAdmission, FailedInboundHandshakeHandsItsWaitersToADial) {
  auto a = node_with("zzz", [](NodeOptions& o) { o.setup_timeout = 1000ms; });
  SilentListener peer_port;
  const std::string peer = "aaa-" + std::to_string(peer_port.port()) + "@127.0.0.1";
  std::optional<Status> connected;
  {
    RawPeer inbound(a->name().port());
    std::jthread t([&] {
      inbound.handshake_begin(peer, a->name().str(), "wrong");
      inbound.handshake_finish();
    });
    settle(*a, 100ms);
    a->connect(*NodeName::parse(peer), [&](Status st) { connected = st; });
    settle(*a, 300ms);
    t.join();
  }
  ASSERT_TRUE(pump(
      *a, [&] { return peer_port.accept_all() == 1; }, 2s))
      << "nobody dialled the peer after its inbound handshake failed";
  ASSERT_TRUE(pump(
      *a, [&] { return connected.has_value(); }, 3s));
  EXPECT_FALSE(connected->ok());  // the silent listener never answers the dial
}

// Defect: a link that times out ends a process linked to a pid of a third node; the EXIT
// to that node starts a dial, which added a link while the loop was walking the links
// (heap-use-after-free under ASan, SIGSEGV in release). A peer may no longer link a pid of
// another node to ours (a spoofed sender), so here a node watcher does what that EXIT did:
// it sends to the third node, from inside the link's loss, while the walk is under way.
Bytes link_frame(const Pid& from, const Pid& to) {
  return RawPeer::control_frame(
      Term::tuple({Term::integer(std::int64_t{1}), Term::pid(from), Term::pid(to)}));
}

// A node with a process linked from a connected peer's pid, a watcher that sends to a third
// node (`ghost`, which hangs when dialled) when the peer goes down, and a second connection
// after the peer's, so a walk over the links has more to visit once a dial has added one.
struct LinkedVictim {
  explicit LinkedVictim(std::chrono::seconds ticktime)
      : a(start_node("aaa", ticktime)),
        victim(a->spawn([](Node&, const Pid&, const Term&) {})),
        ghost{"ghost-" + std::to_string(third.port()) + "@127.0.0.1", 1, 0, 5},
        p(a->name().port()) {
    a->watch_nodes([this](const std::string& node, bool up) {
      if (!up && node == peer) (void)a->send(RegName{"x", ghost.node}, Term::atom("hello"));
    });
    std::jthread t([&] {
      ASSERT_TRUE(p.handshake(peer, a->name().str(), kCookie));
      ASSERT_TRUE(p.write(link_frame(peer_pid, victim)));
    });
    linked = pump(
        *a, [&] { return a->is_connected(peer); }, 3s);
    t.join();
    idle = std::make_unique<RawPeer>(a->name().port());
    settle(*a, 100ms);
  }
  std::unique_ptr<Node> a;
  Pid victim;
  SilentListener third;
  const std::string peer = "ppp@127.0.0.1";
  const Pid peer_pid{peer, 1, 0, 5};
  Pid ghost;
  RawPeer p;
  std::unique_ptr<RawPeer> idle;
  bool linked = false;
};

TEST(LinkTable, LinkTimeoutThatDialsAThirdNodeLeavesTheLoopSound) {
  LinkedVictim s(std::chrono::seconds(1));
  ASSERT_TRUE(s.linked);
  auto& a = s.a;
  const auto& peer = s.peer;
  const Pid victim = s.victim;
  auto& third = s.third;
  // The peer never answers a tick: after net_ticktime its link goes, the victim dies with
  // noconnection, and the watcher's send to the ghost's node dials that node.
  ASSERT_TRUE(pump(
      *a, [&] { return !a->is_connected(peer); }, 4s));
  EXPECT_FALSE(a->is_alive(victim));
  ASSERT_TRUE(pump(
      *a, [&] { return third.accept_all() == 1; }, 2s));
  // The node still serves: a local call round trip.
  const Pid echo = a->spawn([](Node& n, const Pid&, const Term& m) {
    if (m.is_tuple(3)) (void)n.reply(*m.element(1), Term::atom("pong"));
  });
  auto r = call_and_wait(*a, echo, Term::atom("ping"), 1000ms);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, Term::atom("pong"));
}

TEST(LinkTable, StoppingWhileALinkClosesIntoADialLeavesTheLoopSound) {
  LinkedVictim s(std::chrono::seconds(60));
  ASSERT_TRUE(s.linked);
  auto& a = s.a;
  const Pid victim = s.victim;
  auto& p = s.p;
  // Closing every link on stop ends the victim (noconnection), and the watcher's send
  // would dial.
  a->post([](Node& n) { n.stop(); });
  a->run();
  EXPECT_FALSE(a->is_alive(victim));
  EXPECT_TRUE(p.wait_closed(2s));
}

}  // namespace
}  // namespace convoy::test
