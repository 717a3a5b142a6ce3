// LinkTable alone, against scripted sockets (no descriptors, no network) and a manual
// clock: OTP's admission rules, the pending entry per peer, and walks that survive the table
// growing under them.
#include "node/link_table.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <set>

#include "dist/byte_order.hpp"
#include "dist/dist_flags.hpp"
#include "log_capture.hpp"

namespace convoy::node {
namespace {

using Bytes = std::vector<std::uint8_t>;
using dist::Handshake;

class ManualClock : public Clock {
 public:
  time_point now() const override { return now_; }
  void advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  time_point now_{std::chrono::seconds(1000)};
};

// One end of a scripted byte stream: what the table will read, and what it wrote.
struct Wire {
  std::deque<std::uint8_t> incoming;
  Bytes written;
  bool eof = false;
  bool closed = false;  // the table dropped its socket
};

class ScriptedSocket final : public Socket {
 public:
  explicit ScriptedSocket(std::shared_ptr<Wire> w) : w_(std::move(w)) {}
  ~ScriptedSocket() override { w_->closed = true; }
  int fd() const override { return -1; }
  IoResult read(std::span<std::uint8_t> into) override {
    if (w_->incoming.empty()) return w_->eof ? IoResult::eof() : IoResult::would_block();
    const std::size_t n = std::min(into.size(), w_->incoming.size());
    std::copy_n(w_->incoming.begin(), n, into.begin());
    w_->incoming.erase(w_->incoming.begin(), w_->incoming.begin() + static_cast<std::ptrdiff_t>(n));
    return IoResult::ok(n);
  }
  IoResult write(std::span<const std::uint8_t> b) override {
    w_->written.insert(w_->written.end(), b.begin(), b.end());
    return IoResult::ok(b.size());
  }
  int connect_result() override { return 0; }
  std::string peer_address() const override { return "scripted"; }

 private:
  std::shared_ptr<Wire> w_;
};

class ScriptedListener final : public Listener {
 public:
  int fd() const override { return -1; }
  Result<std::unique_ptr<Socket>> accept() override {
    ++accepts;
    if (failures > 0) {
      --failures;
      return make_error(Errc::io_error, "accept: Too many open files");
    }
    if (queue.empty()) return std::unique_ptr<Socket>();
    auto s = std::move(queue.front());
    queue.pop_front();
    return s;
  }
  std::deque<std::unique_ptr<Socket>> queue;
  int failures = 0;  // the next accept() calls that fail (EMFILE)
  int accepts = 0;
};

// The other side of one connection, played by our own handshake state machine.
struct Peer {
  std::shared_ptr<Wire> wire = std::make_shared<Wire>();
  std::optional<Handshake> hs;
  bool hold_reply = false;  // keep the challenge reply unsent (cookie not proven yet)
  Bytes held;

  void feed() {
    if (!hs || hs->state() != Handshake::State::in_progress) return;
    Bytes out;
    std::size_t used = 0;
    hs->feed(wire->written, used, out);
    wire->written.erase(wire->written.begin(),
                        wire->written.begin() + static_cast<std::ptrdiff_t>(used));
    if (hold_reply && out.size() > 2 && out[2] == 'r') {
      held = std::move(out);
      return;
    }
    wire->incoming.insert(wire->incoming.end(), out.begin(), out.end());
  }
  void release() {
    wire->incoming.insert(wire->incoming.end(), held.begin(), held.end());
    held.clear();
  }
  // The first status message the table sent ("ok", "alive", ...).
  std::string status_seen;
};

struct Recorder : LinkEvents {
  void on_link_up(const std::string& p) override { ups.push_back(p); }
  void on_link_down(const std::string& p) override {
    downs.push_back(p);
    if (on_down) on_down(p);
  }
  void on_unreachable(const std::string& p) override { unreachable.push_back(p); }
  void on_frame(const std::string& p, std::span<const std::uint8_t> b) override {
    frames.emplace_back(p, Bytes(b.begin(), b.end()));
  }
  std::vector<std::string> ups, downs, unreachable;
  std::vector<std::pair<std::string, Bytes>> frames;
  std::function<void(const std::string&)> on_down;
};

constexpr const char* kCookie = "secret";

class LinkTableTest : public testing::Test {
 protected:
  void make(const std::string& self, std::size_t max_inbound_handshakes = 128,
            std::size_t max_dials = 256) {
    self_ = self;
    loop_ = EventLoop::create(clock_).value();
    table_ = std::make_unique<LinkTable>(
        LinkTableOptions{
            .handshake = {self, kCookie, dist::kOurFlags, 7},
            .timeouts = {std::chrono::milliseconds(7000), std::chrono::milliseconds(4000)},
            .random = [] { return 4242u; },
            .max_pending_per_peer = 3,
            .max_pending_bytes_per_peer = 64,
            .max_inbound_handshakes = max_inbound_handshakes,
            .max_dials = max_dials},
        *loop_, listener_,
        Dialer{
            .connect = [this](const std::string& host,
                              std::uint16_t port) -> Result<std::unique_ptr<Socket>> {
              dials_.push_back(host + ":" + std::to_string(port));
              if (unresolvable_.contains(host)) {
                return make_error(Errc::io_error,
                                  "cannot resolve host '" + host + "': Name or service not known");
              }
              auto& p = dialled_.emplace_back(std::make_unique<Peer>());
              return std::unique_ptr<Socket>(std::make_unique<ScriptedSocket>(p->wire));
            },
            .needs_lookup = [this](const std::string& host) { return named_hosts_.contains(host); },
            .lookup =
                [this](const std::string& host, std::function<void(Result<std::string>)> done) {
                  lookups_.emplace_back(host, std::move(done));
                }},
        events_);
  }

  // A peer dialling us as `name`.
  Peer& inbound(const std::string& name, const std::string& cookie = kCookie) {
    auto& p = inbound_.emplace_back(std::make_unique<Peer>());
    p->hs.emplace(
        Handshake::initiator({name, cookie, dist::kOurFlags, 9}, self_, [] { return 77u; }));
    Bytes out;
    p->hs->start(out);
    p->wire->incoming.insert(p->wire->incoming.end(), out.begin(), out.end());
    listener_.queue.push_back(std::make_unique<ScriptedSocket>(p->wire));
    table_->accept_pending();
    return *p;
  }
  // The peer we dialled, answering as an acceptor with `status`-deciding admission.
  Peer& answer_dial(std::size_t k, const std::string& as) {
    Peer& p = *dialled_.at(k);
    p.hs.emplace(Handshake::acceptor(
        {as, kCookie, dist::kOurFlags, 9}, [] { return 55u; },
        [](const std::string&) { return "ok"; }));
    return p;
  }

  // One loop turn: every link readable and writable, then peers answer what they read.
  void turn(int times = 4) {
    for (int i = 0; i < times; ++i) {
      std::vector<pollfd> fds;
      table_->add_fds(fds);
      for (auto& f : fds) f.revents = POLLIN | POLLOUT;
      table_->dispatch(fds);
      table_->flush_all();
      for (auto& p : inbound_) note_status_and_feed(*p);
      for (auto& p : dialled_) note_status_and_feed(*p);
    }
  }
  static void note_status_and_feed(Peer& p) {
    const Bytes& w = p.wire->written;
    if (p.status_seen.empty() && w.size() >= 3 && w[2] == 's') {
      const std::size_t len = wire::get16(w.data());
      if (w.size() >= 2 + len) p.status_seen.assign(w.begin() + 3, w.begin() + 2 + len);
    }
    p.feed();
  }

  ManualClock clock_;
  std::unique_ptr<EventLoop> loop_;
  ScriptedListener listener_;
  Recorder events_;
  std::unique_ptr<LinkTable> table_;
  std::string self_;
  std::vector<std::string> dials_;
  std::set<std::string> unresolvable_;  // hosts the connector cannot resolve
  std::set<std::string> named_hosts_;   // hosts that need a lookup first
  // Lookups started and not answered yet; a test answers them.
  std::vector<std::pair<std::string, std::function<void(Result<std::string>)>>> lookups_;
  std::vector<std::unique_ptr<Peer>> inbound_, dialled_;
};

TEST_F(LinkTableTest, AConnectedPeerIsAnsweredAliveAndReplacedOnlyAfterTheCookie) {
  make("mmm-1@h");
  inbound("ppp-2@h");
  turn();
  ASSERT_TRUE(table_->is_connected("ppp-2@h"));
  // The same name again, without the cookie: alive, and nothing changes.
  Peer& liar = inbound("ppp-2@h", "wrong");
  turn();
  EXPECT_EQ(liar.status_seen, "alive");
  EXPECT_TRUE(liar.wire->closed);
  EXPECT_TRUE(table_->is_connected("ppp-2@h"));
  EXPECT_TRUE(events_.downs.empty());
  EXPECT_FALSE(inbound_[0]->wire->closed);
  // With the cookie: the new link replaces the old one.
  Peer& real = inbound("ppp-2@h");
  turn();
  EXPECT_EQ(real.status_seen, "alive");
  EXPECT_EQ(events_.downs, (std::vector<std::string>{"ppp-2@h"}));
  EXPECT_EQ(events_.ups.size(), 2u);
  EXPECT_TRUE(inbound_[0]->wire->closed);
  EXPECT_FALSE(real.wire->closed);
  EXPECT_TRUE(table_->is_connected("ppp-2@h"));
}

TEST_F(LinkTableTest, WhileDiallingAGreaterNameRefusesThePeersDialWithNok) {
  make("zzz-1@h");
  table_->connect(*NodeName::parse("aaa-2@h"), {});
  ASSERT_EQ(dials_.size(), 1u);
  Peer& theirs = inbound("aaa-2@h");
  turn();
  EXPECT_EQ(theirs.status_seen, "nok");
  EXPECT_TRUE(theirs.wire->closed);
  EXPECT_FALSE(dialled_[0]->wire->closed);
}

TEST_F(LinkTableTest, WhileDiallingALowerNameAnswersOkSimultaneousAndKeepsItsDial) {
  make("aaa-1@h");
  std::optional<Status> done;
  table_->connect(*NodeName::parse("zzz-2@h"), [&](Status st) { done = st; });
  ASSERT_EQ(dials_.size(), 1u);
  Peer& theirs = inbound("zzz-2@h");
  theirs.hold_reply = true;
  turn();
  EXPECT_EQ(theirs.status_seen, "ok_simultaneous");
  // Not proven yet: our dial stands. The impostor goes away; the waiter still waits.
  theirs.wire->eof = true;
  turn();
  EXPECT_FALSE(dialled_[0]->wire->closed);
  EXPECT_FALSE(done.has_value());
  EXPECT_EQ(dials_.size(), 1u);
}

TEST_F(LinkTableTest, AProvenInboundSupersedesOurDialAndCompletesItsWaiters) {
  make("aaa-1@h");
  std::optional<Status> done;
  table_->connect(*NodeName::parse("zzz-2@h"), [&](Status st) { done = st; });
  ASSERT_TRUE(table_->send("zzz-2@h", Bytes{131, 106}).ok());
  inbound("zzz-2@h");
  turn();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok());
  EXPECT_TRUE(dialled_[0]->wire->closed);  // superseded
  EXPECT_TRUE(table_->is_connected("zzz-2@h"));
  EXPECT_TRUE(events_.downs.empty());
  EXPECT_TRUE(events_.unreachable.empty());
  // The queued frame went out on the inbound link: <<0,0,0,3,$p,131,106>>.
  const Bytes& w = inbound_[0]->wire->written;
  const Bytes tail(w.end() - 7, w.end());
  EXPECT_EQ(tail, (Bytes{0, 0, 0, 3, 112, 131, 106}));
}

TEST_F(LinkTableTest, AnInboundHandshakeInProgressIsThePeersPendingLink) {
  make("zzz-1@h");
  Peer& theirs = inbound("aaa-2@h");
  theirs.hold_reply = true;
  turn();
  ASSERT_EQ(theirs.status_seen, "ok");
  std::optional<Status> done;
  table_->connect(*NodeName::parse("aaa-2@h"), [&](Status st) { done = st; });
  ASSERT_TRUE(table_->send("aaa-2@h", Bytes{131, 106}).ok());
  EXPECT_TRUE(dials_.empty());
  theirs.release();
  turn();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok());
  EXPECT_TRUE(dials_.empty());
  EXPECT_EQ(events_.ups, (std::vector<std::string>{"aaa-2@h"}));
}

TEST_F(LinkTableTest, AFailedInboundHandsWhatWaitsToADial) {
  make("zzz-1@h");
  Peer& theirs = inbound("aaa-2@h");
  theirs.hold_reply = true;
  turn();
  std::optional<Status> done;
  table_->connect(*NodeName::parse("aaa-2@h"), [&](Status st) { done = st; });
  EXPECT_TRUE(dials_.empty());
  theirs.wire->eof = true;
  turn(1);
  ASSERT_EQ(dials_, (std::vector<std::string>{"h:2"}));
  answer_dial(0, "aaa-2@h");
  turn();
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->ok()) << done->error().message;
  EXPECT_TRUE(table_->is_connected("aaa-2@h"));
}

TEST_F(LinkTableTest, AFailedDialFailsItsWaitersDropsItsQueueAndReportsTheNode) {
  make("aaa-1@h");
  std::optional<Status> done;
  table_->connect(*NodeName::parse("bbb-2@h"), [&](Status st) { done = st; });
  ASSERT_TRUE(table_->send("bbb-2@h", Bytes{131, 106}).ok());
  dialled_[0]->wire->eof = true;  // connected, then closed before answering
  turn(2);
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->ok());
  EXPECT_EQ(events_.unreachable, (std::vector<std::string>{"bbb-2@h"}));
}

// A peer that keeps refusing is one warning when it starts failing and one line when it
// connects again, with the count; the retries in between are debug.
TEST_F(LinkTableTest, RepeatedDialFailuresAreLoggedOncePerStateChangeWithTheCount) {
  test::LogCapture log(spdlog::level::info);
  make("aaa-1@h");
  for (std::size_t k = 0; k < 3; ++k) {
    table_->connect(*NodeName::parse("bbb-2@h"), {});
    turn(1);
    dialled_.at(k)->wire->eof = true;  // connected, then closed before answering
    turn(2);
    table_->reap();
  }
  EXPECT_EQ(log.count("cannot connect to bbb-2@h"), 1u) << log.text();
  table_->connect(*NodeName::parse("bbb-2@h"), {});
  answer_dial(3, "bbb-2@h");
  turn();
  ASSERT_TRUE(table_->is_connected("bbb-2@h"));
  EXPECT_EQ(log.count("link up: bbb-2@h (outbound, scripted) after 3 failed dials"), 1u)
      << log.text();
  // A new streak warns again.
  table_->disconnect("bbb-2@h");
  turn(1);
  table_->reap();
  table_->connect(*NodeName::parse("bbb-2@h"), {});
  turn(1);
  dialled_.at(4)->wire->eof = true;
  turn(2);
  EXPECT_EQ(log.count("cannot connect to bbb-2@h"), 2u) << log.text();
}

// The dial of a name whose host does not resolve (an SRV target without an address) fails
// before any socket exists; it is a warning like any other failed dial, not silence.
TEST_F(LinkTableTest, AHostThatDoesNotResolveIsAWarning) {
  test::LogCapture log(spdlog::level::info);
  make("aaa-1@h");
  unresolvable_.insert("gone.node.dc1.consul");
  std::optional<Status> done;
  table_->connect(*NodeName::parse("app-4001@gone.node.dc1.consul"), [&](Status st) { done = st; });
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->ok());
  EXPECT_EQ(log.count("[warning] cannot connect to app-4001@gone.node.dc1.consul: cannot resolve "
                      "host 'gone.node.dc1.consul'"),
            1u)
      << log.text();
}

// A host that is a name is looked up first (off the loop, answered later); the dial connects
// to the address the lookup gave, and what is sent meanwhile waits and then goes in order.
TEST_F(LinkTableTest, ANamedHostIsLookedUpBeforeTheDialAndMessagesWaitForIt) {
  make("aaa-1@h");
  named_hosts_.insert("app.node.consul");
  ASSERT_TRUE(table_->send("zzz-2@app.node.consul", Bytes{131, 106}).ok());
  ASSERT_TRUE(table_->send("zzz-2@app.node.consul", Bytes{131, 100}).ok());
  ASSERT_EQ(lookups_.size(), 1u);  // one lookup, however many sends
  EXPECT_EQ(lookups_[0].first, "app.node.consul");
  EXPECT_TRUE(dials_.empty());
  lookups_[0].second(std::string("10.1.2.3"));
  EXPECT_EQ(dials_, (std::vector<std::string>{"10.1.2.3:2"}));
  answer_dial(0, "zzz-2@app.node.consul");
  turn();
  ASSERT_TRUE(table_->is_connected("zzz-2@app.node.consul"));
}

// A lookup that never answers is a dial that times out like a handshake would; its late
// answer is ignored, and a failed lookup is a failed dial.
TEST_F(LinkTableTest, ALookupThatHangsTimesOutAndItsLateAnswerIsIgnored) {
  test::LogCapture log(spdlog::level::info);
  make("aaa-1@h");
  named_hosts_.insert("slow.consul");
  std::optional<Status> done;
  table_->connect(*NodeName::parse("zzz-2@slow.consul"), [&](Status st) { done = st; });
  ASSERT_EQ(lookups_.size(), 1u);
  clock_.advance(std::chrono::milliseconds(7001));
  loop_->run_due_timers();
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->error().code, make_error_code(Errc::timeout)) << done->error().message;
  EXPECT_EQ(log.count("looking up host 'slow.consul' took more than 7000 ms"), 1u) << log.text();
  lookups_[0].second(std::string("10.1.2.3"));
  EXPECT_TRUE(dials_.empty());
  // The next dial looks the host up again; this time the lookup fails.
  done.reset();
  table_->connect(*NodeName::parse("zzz-2@slow.consul"), [&](Status st) { done = st; });
  ASSERT_EQ(lookups_.size(), 2u);
  lookups_[1].second(make_error(Errc::io_error, "cannot resolve host 'slow.consul'"));
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->ok());
  EXPECT_TRUE(dials_.empty());
}

// Disconnecting (or stopping) while a lookup is in progress ends that dial at once.
TEST_F(LinkTableTest, DisconnectDuringALookupFailsItsWaiters) {
  make("aaa-1@h");
  named_hosts_.insert("slow.consul");
  std::optional<Status> done;
  table_->connect(*NodeName::parse("zzz-2@slow.consul"), [&](Status st) { done = st; });
  table_->disconnect("zzz-2@slow.consul");
  ASSERT_TRUE(done.has_value());
  EXPECT_FALSE(done->ok());
  lookups_.at(0).second(std::string("10.1.2.3"));
  EXPECT_TRUE(dials_.empty());
  std::optional<Status> later;
  table_->connect(*NodeName::parse("yyy-3@slow.consul"), [&](Status st) { later = st; });
  table_->shutdown();
  ASSERT_TRUE(later.has_value());
  EXPECT_FALSE(later->ok());
}

// Dials in progress are bounded: a flood of messages to made-up nodes cannot become a
// socket or a lookup each.
TEST_F(LinkTableTest, DialsInProgressAreBounded) {
  test::LogCapture log(spdlog::level::info);
  make("aaa-1@h", 128, 3);
  named_hosts_.insert("slow.consul");
  for (int k = 0; k < 10; ++k) {
    (void)table_->send("p" + std::to_string(k) + "-2@" + (k % 2 ? "slow.consul" : "h"),
                       Bytes{131, 106});
  }
  EXPECT_EQ(dials_.size() + lookups_.size(), 3u);
  EXPECT_EQ(log.count("3 dials in progress (the most allowed)"), 1u) << log.text();
}

// A storm of refused handshakes is a few lines and a count, not one line each.
TEST_F(LinkTableTest, FailedInboundHandshakesAreRateLimitedInTheLog) {
  test::LogCapture log(spdlog::level::info);
  make("aaa-1@h");
  for (int k = 0; k < 60; ++k) inbound("p" + std::to_string(k) + "-2@h", "wrong");
  turn();
  const auto lines = log.count("inbound connection from");
  EXPECT_GT(lines, 0u) << log.text();
  EXPECT_LE(lines, 10u) << log.text();
}

// Out of descriptors, accept() fails while the connection stays queued, so the listener is
// readable at once again: without a pause that is a busy loop writing a warning per turn.
TEST_F(LinkTableTest, AFailingAcceptPausesTheListenerAndLogsOncePerEpisode) {
  test::LogCapture log(spdlog::level::info);
  make("aaa-1@h");
  listener_.failures = 1000;
  EXPECT_TRUE(table_->accepting());
  table_->accept_pending();
  EXPECT_FALSE(table_->accepting());  // paused: the loop does not poll the listener
  EXPECT_LE(table_->next_deadline(), clock_.now() + std::chrono::milliseconds(1000));
  for (int k = 0; k < 20; ++k) {
    clock_.advance(std::chrono::milliseconds(1000));
    ASSERT_TRUE(table_->accepting());
    table_->accept_pending();
  }
  EXPECT_EQ(listener_.accepts, 21);  // one try per pause, not a spin
  EXPECT_EQ(log.count("accept failed"), 1u) << log.text();
  listener_.failures = 0;
  clock_.advance(std::chrono::milliseconds(1000));
  inbound("ppp-2@h");  // accepted by inbound()
  EXPECT_EQ(log.count("accepting connections again after 21 failed accepts"), 1u) << log.text();
}

// Connections that never finish their handshake are capped; past the cap a new one is
// closed at once (the backlog keeps draining, the cap's holders time out on their own).
TEST_F(LinkTableTest, InboundHandshakesInProgressAreCapped) {
  test::LogCapture log(spdlog::level::info);
  make("aaa-1@h", 4);
  std::vector<std::shared_ptr<Wire>> wires;
  for (int k = 0; k < 6; ++k) {
    auto w = std::make_shared<Wire>();
    wires.push_back(w);
    listener_.queue.push_back(std::make_unique<ScriptedSocket>(w));
  }
  table_->accept_pending();
  int closed = 0;
  for (auto& w : wires) closed += w->closed ? 1 : 0;
  EXPECT_EQ(closed, 2);
  EXPECT_GE(log.count("inbound handshakes in progress"), 1u) << log.text();
}

// A peer closing its link (a node stopping) or our own disconnect is news, not a problem;
// a timeout is.
TEST_F(LinkTableTest, ALinkClosedNormallyIsInfoATimeoutIsAWarning) {
  test::LogCapture log(spdlog::level::info);
  make("aaa-1@h");
  Peer& closing = inbound("ppp-2@h");
  inbound("qqq-3@h");
  turn();
  ASSERT_TRUE(table_->is_connected("ppp-2@h"));
  ASSERT_TRUE(table_->is_connected("qqq-3@h"));
  closing.wire->eof = true;
  turn(1);
  EXPECT_EQ(log.count("[info] link down: ppp-2@h: ppp-2@h closed the connection"), 1u)
      << log.text();
  for (int check = 0; check < 4; ++check) {
    clock_.advance(std::chrono::milliseconds(1000));
    table_->on_timers();
  }
  EXPECT_EQ(log.count("[warning] link down: qqq-3@h"), 1u) << log.text();
}

TEST_F(LinkTableTest, ThePendingQueueIsBounded) {
  make("aaa-1@h");
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(table_->send("bbb-2@h", Bytes{131, 106}).ok());
  auto st = table_->send("bbb-2@h", Bytes{131, 106});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, make_error_code(Errc::limit_exceeded));
  EXPECT_FALSE(table_->send("not a node name", Bytes{131, 106}).ok());
}

// Issue 9, defect 3: the queue counted messages only, so two stalled peer names held 1.3 GB
// of big messages. Bytes are bounded too.
TEST_F(LinkTableTest, ThePendingQueueIsBoundedInBytes) {
  make("aaa-1@h");
  EXPECT_TRUE(table_->send("bbb-2@h", Bytes(60, 131)).ok());
  auto st = table_->send("bbb-2@h", Bytes(10, 131));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, make_error_code(Errc::limit_exceeded));
  EXPECT_NE(st.error().message.find("60 bytes already wait for a link to bbb-2@h"),
            std::string::npos)
      << st.error().message;
  EXPECT_TRUE(table_->send("bbb-2@h", Bytes(4, 131)).ok());
}

TEST_F(LinkTableTest, ALinkTimingOutIntoADialLeavesTheWalkSound) {
  make("aaa-1@h");
  inbound("ppp-2@h");
  inbound("qqq-3@h");
  turn();
  ASSERT_TRUE(table_->is_connected("ppp-2@h"));
  ASSERT_TRUE(table_->is_connected("qqq-3@h"));
  // Losing a node makes the rest of the node send somewhere new: a dial, added to the
  // links while on_timers() walks them.
  events_.on_down = [&](const std::string&) {
    for (int k = 0; k < 8; ++k) {
      table_->connect(*NodeName::parse("new" + std::to_string(k) + "-9@h"), {});
    }
  };
  for (int check = 1; check < 4; ++check) {  // tick checks, each net_ticktime / 4 apart
    clock_.advance(std::chrono::milliseconds(1000));
    table_->on_timers();
  }
  EXPECT_TRUE(events_.downs.empty());
  clock_.advance(std::chrono::milliseconds(1000));  // the fourth silent check
  table_->on_timers();
  EXPECT_EQ(events_.downs.size(), 2u);
  EXPECT_EQ(dials_.size(), 8u);  // the second loss finds the dials already under way
  table_->reap();
  table_->shutdown();
  for (auto& p : dialled_) EXPECT_TRUE(p->wire->closed);
}

TEST_F(LinkTableTest, NothingIsDialledWhileShuttingDown) {
  make("aaa-1@h");
  inbound("ppp-2@h");
  turn();
  events_.on_down = [&](const std::string&) {
    EXPECT_FALSE(table_->send("zzz-5@h", Bytes{131, 106}).ok());
  };
  table_->shutdown();
  EXPECT_EQ(events_.downs.size(), 1u);
  EXPECT_TRUE(dials_.empty());
}

}  // namespace
}  // namespace convoy::node
