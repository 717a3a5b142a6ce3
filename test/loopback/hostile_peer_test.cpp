// Peers that misbehave on a real socket: stalled handshakes, stalled frames, garbage frames
// and undecodable terms. None of them may stop the node serving everyone else.
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <optional>
#include <thread>

#include "convoy/node.hpp"
#include "convoy/services.hpp"
#include "harness.hpp"
#include "log_capture.hpp"
#include "raw_peer.hpp"

namespace convoy::test {
namespace {

// A REG_SEND to `echo` asking it to send `payload` to `reply_to`.
Bytes echo_request(const Pid& reply_to, const Term& payload) {
  Bytes body{112};
  encode_append(Term::tuple({Term::integer(std::int64_t{6}), Term::pid(reply_to), Term::atom(""),
                             Term::atom("echo")}),
                body);
  encode_append(Term::tuple({Term::pid(reply_to), payload}), body);
  return RawPeer::frame(body);
}

class HostilePeers : public testing::Test {
 protected:
  virtual void tweak(NodeOptions&) {}
  void SetUp() override {
    // The log is captured for the node's whole life: swapping spdlog's sinks while the
    // node's thread logs would race.
    log_.emplace(spdlog::level::debug);
    auto opts = loopback_options("target");
    opts.setup_timeout = std::chrono::milliseconds(2000);
    tweak(opts);
    auto n = Node::start(std::move(opts));
    ASSERT_TRUE(n.ok()) << n.error().message;
    node_ = std::move(*n);
    ASSERT_TRUE(install_builtin_services(*node_).ok());
    loop_ = std::thread([this] { node_->run(); });
  }
  void TearDown() override {
    node_->stop();
    loop_.join();
    node_.reset();
    log_.reset();
  }

  // A well-behaved peer gets its echo back.
  void expect_echo_works(const std::string& alive) {
    RawPeer good(node_->name().port());
    ASSERT_TRUE(good.connected());
    const std::string self = alive + "@127.0.0.1";
    ASSERT_TRUE(good.handshake(self, node_->name().str(), kCookie));
    const Pid me{self, 1, 0, 5};
    ASSERT_TRUE(good.write(echo_request(me, Term::atom("still_alive"))));
    auto m = good.read_message();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->control, dist::ControlMessage(dist::Send{me, std::nullopt, std::nullopt}));
    EXPECT_EQ(m->payload, Term::atom("still_alive"));
  }

  // Runs `f` on the node's loop thread and returns its result (the node is not thread-safe).
  template <typename F>
  auto on_loop(F f) {
    std::promise<decltype(f())> result;
    node_->post([&](Node&) { result.set_value(f()); });
    return result.get_future().get();
  }

  static bool wait_until_true(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  std::optional<LogCapture> log_;
  std::unique_ptr<Node> node_;
  std::thread loop_;
};

TEST_F(HostilePeers, StalledHandshakeDoesNotBlockOthers) {
  RawPeer staller(node_->name().port());
  ASSERT_TRUE(staller.connected());
  ASSERT_TRUE(staller.write({0, 40, 'N', 0, 0}));  // the start of a name message, never finished
  expect_echo_works("good1");
}

TEST_F(HostilePeers, StalledFrameDoesNotBlockOthers) {
  RawPeer staller(node_->name().port());
  ASSERT_TRUE(staller.handshake("staller@127.0.0.1", node_->name().str(), kCookie));
  ASSERT_TRUE(staller.write({0, 0, 1, 0, 112, 131}));  // a 256-byte frame that never completes
  expect_echo_works("good2");
}

TEST_F(HostilePeers, GarbageFramesAreDroppedAndTheLinkKeepsWorking) {
  RawPeer peer(node_->name().port());
  const std::string self = "messy@127.0.0.1";
  ASSERT_TRUE(peer.handshake(self, node_->name().str(), kCookie));
  const Pid me{self, 1, 0, 5};
  // Not pass-through, undecodable control, valid control with an undecodable payload,
  // a control message that is not a tuple, an unknown operation.
  ASSERT_TRUE(peer.write(RawPeer::frame({1, 2, 3})));
  ASSERT_TRUE(peer.write(RawPeer::frame({112, 131, 200, 1, 2})));
  Bytes bad_payload{112};
  encode_append(Term::tuple({Term::integer(std::int64_t{2}), Term::atom(""), Term::pid(me)}),
                bad_payload);
  bad_payload.insert(bad_payload.end(), {131, 109, 0, 0, 0, 50, 1});  // binary cut short
  ASSERT_TRUE(peer.write(RawPeer::frame(bad_payload)));
  Bytes not_tuple{112};
  encode_append(Term::atom("hello"), not_tuple);
  ASSERT_TRUE(peer.write(RawPeer::frame(not_tuple)));
  Bytes unknown_op{112};
  encode_append(Term::tuple({Term::integer(std::int64_t{999})}), unknown_op);
  ASSERT_TRUE(peer.write(RawPeer::frame(unknown_op)));
  // The same link still carries a good message, and it arrives intact.
  ASSERT_TRUE(peer.write(echo_request(me, Term::atom("after_garbage"))));
  auto m = peer.read_message();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->payload, Term::atom("after_garbage"));
  expect_echo_works("good3");
}

TEST_F(HostilePeers, OversizedFrameClosesOnlyThatLink) {
  RawPeer peer(node_->name().port());
  ASSERT_TRUE(peer.handshake("huge@127.0.0.1", node_->name().str(), kCookie));
  ASSERT_TRUE(peer.write({0xFF, 0xFF, 0xFF, 0xFF, 112}));
  EXPECT_FALSE(peer.read_frame().has_value());  // closed by the node
  expect_echo_works("good4");
}

TEST_F(HostilePeers, BadHandshakeBytesAreRefused) {
  RawPeer peer(node_->name().port());
  ASSERT_TRUE(peer.write({0, 5, 'x', 'y', 'z', 'z', 'y'}));
  // The node closes the socket rather than answering nonsense.
  EXPECT_FALSE(peer.read_frame().has_value());
  expect_echo_works("good5");
}

// The built-in services cannot be taken away: they trap exits (a link that breaks, an EXIT2
// with any reason is a message to them), and `kill`, which cannot be trapped, has them
// restarted under their names. Each end is logged.
TEST_F(HostilePeers, BuiltInServicesSurviveLinksExitsAndKill) {
  LogCapture& log = *log_;
  const auto whereis = [&](const char* name) {
    return on_loop([&] { return node_->whereis(name); });
  };
  const auto first = whereis("c_node");
  ASSERT_TRUE(first.has_value());
  auto i = [](std::int64_t v) { return Term::integer(v); };
  {
    RawPeer peer(node_->name().port());
    const std::string self = "linker@127.0.0.1";
    ASSERT_TRUE(peer.handshake(self, node_->name().str(), kCookie));
    const Pid me{self, 1, 0, 5};
    ASSERT_TRUE(
        peer.write(RawPeer::control_frame(Term::tuple({i(1), Term::pid(me), Term::pid(*first)}))));
    ASSERT_TRUE(peer.write(RawPeer::control_frame(
        Term::tuple({i(8), Term::pid(me), Term::pid(*first), Term::atom("boom")}))));
    ASSERT_TRUE(peer.write(echo_request(me, Term::atom("sync"))));
    ASSERT_TRUE(peer.read_message().has_value());
  }  // disconnects: the link breaks with noconnection
  ASSERT_TRUE(wait_until_true(
      [&] { return !on_loop([&] { return node_->is_connected("linker@127.0.0.1"); }); }, 5s));
  EXPECT_EQ(whereis("c_node"), first);

  {
    RawPeer peer(node_->name().port());
    const std::string self = "killer@127.0.0.1";
    ASSERT_TRUE(peer.handshake(self, node_->name().str(), kCookie));
    const Pid me{self, 1, 0, 5};
    ASSERT_TRUE(peer.write(RawPeer::control_frame(
        Term::tuple({i(8), Term::pid(me), Term::pid(*first), Term::atom("kill")}))));
    ASSERT_TRUE(peer.write(echo_request(me, Term::atom("sync"))));
    ASSERT_TRUE(peer.read_message().has_value());
  }
  ASSERT_TRUE(wait_until_true(
      [&] {
        auto now = whereis("c_node");
        return now.has_value() && now != first;
      },
      5s))
      << log.text();
  EXPECT_EQ(log.count("(c_node) exited: killed"), 1u) << log.text();
  EXPECT_EQ(log.count("built-in c_node ended (killed): restarted"), 1u) << log.text();
  expect_echo_works("after_kill");
}

// A peer's huge term in a malformed control message becomes a short log line, not a copy of
// the term (a 64 MB binary printed in full was a 128 MB line).
TEST_F(HostilePeers, AHugeTermInABadControlMessageLogsAShortLine) {
  LogCapture& log = *log_;
  RawPeer peer(node_->name().port(), std::chrono::milliseconds(60000));  // slow under ASan
  const std::string self = "bulky@127.0.0.1";
  ASSERT_TRUE(peer.handshake(self, node_->name().str(), kCookie));
  // 16 MB: a 32 MB line before the fix, and quick enough under the sanitizers.
  const Term huge = Term::binary(std::vector<std::uint8_t>(16u << 20, 'x'));
  // LINK whose From is a binary (bad_field), and a control message that is not {Op, ...}.
  ASSERT_TRUE(peer.write(RawPeer::control_frame(
      Term::tuple({Term::integer(std::int64_t{1}), huge, Term::atom("x")}))));
  ASSERT_TRUE(peer.write(RawPeer::control_frame(Term::tuple({huge}))));
  const Pid me{self, 1, 0, 5};
  ASSERT_TRUE(peer.write(echo_request(me, Term::atom("sync"))));
  ASSERT_TRUE(peer.read_message().has_value());
  EXPECT_EQ(log.count("dropping a frame from bulky@127.0.0.1"), 2u) << log.text().substr(0, 2000);
  for (const auto& line : log.lines()) EXPECT_LT(line.size(), 1000u) << line.substr(0, 300);
}

// A link speaks only for its own node's processes (BEAM checks the same): a LINK, EXIT2,
// MONITOR_P... whose sender is a pid of another node is dropped, logged once and counted,
// so no peer can kill, link or monitor on behalf of a node it is not.
TEST_F(HostilePeers, ControlMessagesSentOnBehalfOfAnotherNodeAreDropped) {
  LogCapture& log = *log_;
  const Pid victim = on_loop([&] { return node_->spawn([](Node&, const Pid&, const Term&) {}); });
  RawPeer peer(node_->name().port());
  const std::string self = "spoofer@127.0.0.1";
  ASSERT_TRUE(peer.handshake(self, node_->name().str(), kCookie));
  const Pid me{self, 1, 0, 5};
  const Pid forged{"bystander-1@127.0.0.1", 7, 0, 1};
  const Ref ref{self, 5, {1, 2, 3}};
  auto i = [](std::int64_t v) { return Term::integer(v); };
  for (const Term& control :
       {Term::tuple({i(8), Term::pid(forged), Term::pid(victim), Term::atom("kill")}),
        Term::tuple({i(1), Term::pid(forged), Term::pid(victim)}),
        Term::tuple({i(19), Term::pid(forged), Term::pid(victim), Term::ref(ref)})}) {
    ASSERT_TRUE(peer.write(RawPeer::control_frame(control)));
  }
  // Frames on one link are handled in order: once the echo is back, the three were seen.
  ASSERT_TRUE(peer.write(echo_request(me, Term::atom("sync"))));
  auto m = peer.read_message();
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(on_loop([&] { return node_->is_alive(victim); }));
  // Had the LINK or MONITOR_P been kept, the victim's exit would be sent to the bystander.
  on_loop([&] {
    node_->exit_process(victim, Term::atom("boom"));
    return true;
  });
  EXPECT_EQ(log.count("bystander-1@127.0.0.1 at"), 0u) << log.text();  // no dial to it
  EXPECT_EQ(log.count("cannot connect to bystander"), 0u) << log.text();
  EXPECT_EQ(log.count("on behalf of"), 1u) << log.text();  // once per link, not per frame
  // The peer's own processes are still obeyed.
  const Pid other = on_loop([&] { return node_->spawn([](Node&, const Pid&, const Term&) {}); });
  ASSERT_TRUE(peer.write(RawPeer::control_frame(
      Term::tuple({i(8), Term::pid(me), Term::pid(other), Term::atom("kill")}))));
  ASSERT_TRUE(peer.write(echo_request(me, Term::atom("sync2"))));
  ASSERT_TRUE(peer.read_message().has_value());
  EXPECT_FALSE(on_loop([&] { return node_->is_alive(other); }));
}

}  // namespace
}  // namespace convoy::test

namespace convoy::test {
namespace {

// The same node with small limits, so a test reaches them with little traffic.
class HostilePeersSmallLimits : public HostilePeers {
 protected:
  void tweak(NodeOptions& o) override {
    o.limits.max_decoded_bytes = 1u << 20;
    o.limits.link_output_high_water = 256u << 10;
  }
};

// Issue 9, defect 2: a small frame that decodes to a huge Term (30 MB of `[]` took 9.3 GB)
// is refused before anything is allocated, and only its sender's link closes.
TEST_F(HostilePeersSmallLimits, AMessageOverTheDecodeLimitClosesOnlyItsLink) {
  LogCapture& log = *log_;
  RawPeer bomb(node_->name().port());
  const std::string self = "bomb@127.0.0.1";
  ASSERT_TRUE(bomb.handshake(self, node_->name().str(), kCookie));
  const Pid me{self, 1, 0, 5};
  // 20 000 empty lists: 20 KB on the wire, 1.6 MB as Terms (the limit is 1 MiB).
  ASSERT_TRUE(bomb.write(echo_request(me, Term::list(std::vector<Term>(20000, Term::nil())))));
  EXPECT_TRUE(bomb.wait_closed(std::chrono::seconds(5)));
  expect_echo_works("good_after_bomb");
  EXPECT_TRUE(wait_until_true([&] { return log.count("over the decode limit") == 1; },
                              std::chrono::seconds(2)))
      << log.text();
}

// Issue 9, defect 3: a peer that floods requests and never reads the replies used to make
// the node buffer up to 512 MiB for it. Now reading from it pauses once its output is over
// link_output_high_water, so its own writes stall — and everyone else is served meanwhile.
TEST_F(HostilePeersSmallLimits, APeerThatNeverReadsIsThrottledNotBuffered) {
  RawPeer flooder(node_->name().port());
  const std::string self = "flooder@127.0.0.1";
  ASSERT_TRUE(flooder.handshake(self, node_->name().str(), kCookie));
  flooder.set_send_timeout(std::chrono::milliseconds(1500));
  const Pid me{self, 1, 0, 5};
  const Bytes request = echo_request(me, Term::binary(std::string(64 * 1024, 'x')));
  // 64 MiB of requests, whose echoes would be 64 MiB of output. The kernel's socket buffers
  // hold a few MiB either way; the node must stop taking the rest.
  int written = 0;
  while (written < 1024 && flooder.write(request)) ++written;
  EXPECT_LT(written, 1024) << "the node read everything a non-reading peer sent";
  for (int k = 0; k < 5; ++k) expect_echo_works("healthy" + std::to_string(k));
  // The flooder is paused, not dropped: its link is still up.
  EXPECT_TRUE(on_loop([&] { return node_->is_connected(self); }));
}

}  // namespace
}  // namespace convoy::test
