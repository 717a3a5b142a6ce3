// Peers that misbehave on a real socket: stalled handshakes, stalled frames, garbage frames
// and undecodable terms. None of them may stop the node serving everyone else.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "byte_order.hpp"
#include "convoy/node.hpp"
#include "convoy/services.hpp"
#include "dist_flags.hpp"
#include "handshake.hpp"
#include "harness.hpp"

namespace convoy::test {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A blocking TCP client that speaks just enough distribution to misbehave precisely.
class RawPeer {
 public:
  explicit RawPeer(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawPeer() { ::close(fd_); }
  bool connected() const { return connected_; }

  void write(const Bytes& b) {
    ASSERT_EQ(::send(fd_, b.data(), b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(b.size()));
  }

  // Runs our own initiator state machine over the socket; true once the link is up.
  bool handshake(const std::string& self, const std::string& peer, const std::string& cookie) {
    auto hs =
        dist::Handshake::initiator({self, cookie, dist::kOurFlags, 5}, peer, [] { return 12345u; });
    Bytes out, in;
    hs.start(out);
    write(out);
    while (hs.state() == dist::Handshake::State::in_progress) {
      std::uint8_t buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in.insert(in.end(), buf, buf + n);
      out.clear();
      std::size_t used = 0;
      hs.feed(in, used, out);
      in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(used));
      if (!out.empty()) write(out);
    }
    leftover_ = in;
    return hs.state() == dist::Handshake::State::done;
  }

  // Reads frames until one that is not a tick arrives (its body), or nullopt on timeout.
  std::optional<Bytes> read_frame() {
    Bytes in = std::move(leftover_);
    for (int i = 0; i < 100; ++i) {
      while (in.size() >= 4) {
        const std::size_t len = wire::get32(in.data());
        if (len == 0) {
          in.erase(in.begin(), in.begin() + 4);
          continue;
        }
        if (in.size() < 4 + len) break;
        Bytes body(in.begin() + 4, in.begin() + 4 + static_cast<std::ptrdiff_t>(len));
        in.erase(in.begin(), in.begin() + 4 + static_cast<std::ptrdiff_t>(len));
        leftover_ = std::move(in);
        return body;
      }
      std::uint8_t buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      in.insert(in.end(), buf, buf + n);
    }
    return std::nullopt;
  }

  static Bytes frame(const Bytes& body) {
    Bytes out;
    wire::put32(out, static_cast<std::uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  Bytes leftover_;
};

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
    const auto port = free_port();
    NodeOptions opts{.name = *NodeName::parse("target-" + std::to_string(port) + "@127.0.0.1"),
                     .cookie = kCookie};
    opts.listen_address = "127.0.0.1";
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
    good.write(echo_request(me, Term::atom("still_alive")));
    auto f = good.read_frame();
    ASSERT_TRUE(f.has_value());
    std::size_t used = 0;
    auto control = decode(std::span(*f).subspan(1), &used);
    ASSERT_TRUE(control.ok());
    auto msg = decode(std::span(*f).subspan(1 + used));
    ASSERT_TRUE(msg.ok());
    EXPECT_EQ(*msg, Term::atom("still_alive"));
  }

  std::unique_ptr<Node> node_;
  std::thread loop_;
};

TEST_F(HostilePeers, StalledHandshakeDoesNotBlockOthers) {
  RawPeer staller(node_->name().port());
  ASSERT_TRUE(staller.connected());
  staller.write({0, 40, 'N', 0, 0});  // the start of a name message, never finished
  expect_echo_works("good1");
}

TEST_F(HostilePeers, StalledFrameDoesNotBlockOthers) {
  RawPeer staller(node_->name().port());
  ASSERT_TRUE(staller.handshake("staller@127.0.0.1", node_->name().str(), kCookie));
  staller.write({0, 0, 1, 0, 112, 131});  // a 256-byte frame that never completes
  expect_echo_works("good2");
}

TEST_F(HostilePeers, GarbageFramesAreDroppedAndTheLinkKeepsWorking) {
  RawPeer peer(node_->name().port());
  const std::string self = "messy@127.0.0.1";
  ASSERT_TRUE(peer.handshake(self, node_->name().str(), kCookie));
  const Pid me{self, 1, 0, 5};
  // Not pass-through, undecodable control, valid control with an undecodable payload,
  // a control message that is not a tuple, an unknown operation.
  peer.write(RawPeer::frame({1, 2, 3}));
  peer.write(RawPeer::frame({112, 131, 200, 1, 2}));
  Bytes bad_payload{112};
  encode_append(Term::tuple({Term::integer(std::int64_t{2}), Term::atom(""), Term::pid(me)}),
                bad_payload);
  bad_payload.insert(bad_payload.end(), {131, 109, 0, 0, 0, 50, 1});  // binary cut short
  peer.write(RawPeer::frame(bad_payload));
  Bytes not_tuple{112};
  encode_append(Term::atom("hello"), not_tuple);
  peer.write(RawPeer::frame(not_tuple));
  Bytes unknown_op{112};
  encode_append(Term::tuple({Term::integer(std::int64_t{999})}), unknown_op);
  peer.write(RawPeer::frame(unknown_op));
  // The same link still carries a good message, and it arrives intact.
  peer.write(echo_request(me, Term::atom("after_garbage")));
  auto f = peer.read_frame();
  ASSERT_TRUE(f.has_value());
  std::size_t used = 0;
  ASSERT_TRUE(decode(std::span(*f).subspan(1), &used).ok());
  auto msg = decode(std::span(*f).subspan(1 + used));
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(*msg, Term::atom("after_garbage"));
  expect_echo_works("good3");
}

TEST_F(HostilePeers, OversizedFrameClosesOnlyThatLink) {
  RawPeer peer(node_->name().port());
  ASSERT_TRUE(peer.handshake("huge@127.0.0.1", node_->name().str(), kCookie));
  peer.write({0xFF, 0xFF, 0xFF, 0xFF, 112});
  EXPECT_FALSE(peer.read_frame().has_value());  // closed by the node
  expect_echo_works("good4");
}

TEST_F(HostilePeers, BadHandshakeBytesAreRefused) {
  RawPeer peer(node_->name().port());
  peer.write({0, 5, 'x', 'y', 'z', 'z', 'y'});
  // The node closes the socket rather than answering nonsense.
  EXPECT_FALSE(peer.read_frame().has_value());
  expect_echo_works("good5");
}

}  // namespace
}  // namespace convoy::test
