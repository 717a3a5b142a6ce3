// Peers that misbehave on a real socket: stalled handshakes, stalled frames, garbage frames
// and undecodable terms. None of them may stop the node serving everyone else.
#include <gtest/gtest.h>

#include <thread>

#include "convoy/node.hpp"
#include "convoy/services.hpp"
#include "harness.hpp"
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
  void SetUp() override {
    auto opts = loopback_options("target");
    opts.setup_timeout = std::chrono::milliseconds(2000);
    auto n = Node::start(std::move(opts));
    ASSERT_TRUE(n.ok()) << n.error().message;
    node_ = std::move(*n);
    ASSERT_TRUE(install_builtin_services(*node_).ok());
    loop_ = std::thread([this] { node_->run(); });
  }
  void TearDown() override {
    node_->stop();
    loop_.join();
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

}  // namespace
}  // namespace convoy::test
