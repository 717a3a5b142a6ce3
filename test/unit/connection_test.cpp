// Connection against a scripted peer through GoogleMock fakes of the Socket and Clock
// seams: framing, ticks, timeouts, truncation and oversized input without a network.
#include "dist/connection.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

#include "dist/byte_order.hpp"
#include "dist/digest.hpp"
#include "dist/dist_flags.hpp"
#include "log_capture.hpp"

namespace convoy::dist {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;
using testing::_;
using testing::Invoke;
using testing::NiceMock;
using testing::Return;

class MockSocket : public Socket {
 public:
  MOCK_METHOD(int, fd, (), (const, override));
  MOCK_METHOD(IoResult, read, (std::span<std::uint8_t>), (override));
  MOCK_METHOD(IoResult, write, (std::span<const std::uint8_t>), (override));
  MOCK_METHOD(int, connect_result, (), (override));
  MOCK_METHOD(std::string, peer_address, (), (const, override));
};

class MockClock : public Clock {
 public:
  MOCK_METHOD(time_point, now, (), (const, override));
};

class MockEvents : public ConnectionEvents {
 public:
  MOCK_METHOD(void, on_up, (Connection&), (override));
  MOCK_METHOD(void, on_frame, (Connection&, std::span<const std::uint8_t>), (override));
  MOCK_METHOD(void, on_down, (Connection&, const Error&), (override));
};

// The scripted peer: what the connection will read, and everything it wrote.
struct Wire {
  std::deque<IoResult::Status> after_data{IoResult::Status::would_block};
  std::deque<Bytes> incoming;
  Bytes written;
  bool block_writes = false;
};

class ConnectionTest : public testing::Test {
 protected:
  void SetUp() override {
    ON_CALL(clock_, now()).WillByDefault(Invoke([this] { return now_; }));
    auto sock = std::make_unique<NiceMock<MockSocket>>();
    socket_ = sock.get();
    ON_CALL(*socket_, fd()).WillByDefault(Return(42));
    ON_CALL(*socket_, peer_address()).WillByDefault(Return("127.0.0.1:9"));
    ON_CALL(*socket_, read(_)).WillByDefault(Invoke([this](std::span<std::uint8_t> into) {
      if (wire_.incoming.empty()) {
        if (wire_.after_data.front() == IoResult::Status::eof) return IoResult::eof();
        return IoResult::would_block();
      }
      Bytes& chunk = wire_.incoming.front();
      const std::size_t n = std::min(into.size(), chunk.size());
      std::copy_n(chunk.begin(), n, into.begin());
      chunk.erase(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
      if (chunk.empty()) wire_.incoming.pop_front();
      return IoResult::ok(n);
    }));
    ON_CALL(*socket_, write(_)).WillByDefault(Invoke([this](std::span<const std::uint8_t> b) {
      if (wire_.block_writes) return IoResult::would_block();
      wire_.written.insert(wire_.written.end(), b.begin(), b.end());
      return IoResult::ok(b.size());
    }));
    pending_socket_ = std::move(sock);
  }

  // An accepted link whose peer "a-1@h" has already been checked by a real handshake run.
  std::unique_ptr<Connection> accepted() {
    auto hs = Handshake::acceptor({"b-2@h", "secret", kOurFlags, 3}, [] { return 1000u; }, {});
    return std::make_unique<Connection>(std::move(pending_socket_), std::move(hs), false, clock_,
                                        timeouts_, events_);
  }

  // Drives the peer side of the handshake with a real initiator state machine.
  void complete_handshake(Connection& c, std::uint64_t peer_flags = kOurFlags | kPublished) {
    auto peer =
        Handshake::initiator({"a-1@h", "secret", peer_flags, 9}, "b-2@h", [] { return 7u; });
    Bytes to_us;
    peer.start(to_us);
    EXPECT_CALL(events_, on_up(_)).Times(1);
    for (int i = 0; i < 5 && peer.state() == Handshake::State::in_progress; ++i) {
      wire_.incoming.push_back(to_us);
      to_us.clear();
      c.on_readable();
      std::size_t used = 0;
      peer.feed(wire_.written, used, to_us);
      wire_.written.erase(wire_.written.begin(),
                          wire_.written.begin() + static_cast<std::ptrdiff_t>(used));
    }
    ASSERT_EQ(peer.state(), Handshake::State::done) << peer.error().message;
    ASSERT_TRUE(c.is_up());
    testing::Mock::VerifyAndClearExpectations(&events_);
  }

  // At `t` we send a frame; the wire then holds nothing, to see what comes after.
  void we_write_at(Connection& c, Clock::time_point t) {
    now_ = t;
    c.send_frame(Bytes{131, 106});
    c.flush();
    wire_.written.clear();
  }
  // The timer run at `t` closes the link with a timeout.
  void expect_timed_out_at(Connection& c, Clock::time_point t) {
    EXPECT_CALL(events_, on_down(_, testing::Field(&Error::code, make_error_code(Errc::timeout))));
    now_ = t;
    c.on_timer();
    EXPECT_TRUE(c.is_closed());
  }

  static Bytes frame(const Bytes& body) {
    Bytes out;
    wire::put32(out, static_cast<std::uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
  }

  Clock::time_point now_{};
  NiceMock<MockClock> clock_;
  MockEvents events_;
  ConnectionTimeouts timeouts_{std::chrono::milliseconds(7000), std::chrono::milliseconds(4000)};
  Wire wire_;
  NiceMock<MockSocket>* socket_ = nullptr;
  std::unique_ptr<Socket> pending_socket_;
};

TEST_F(ConnectionTest, HandshakeThenFramesAreCutFromOneRead) {
  auto c = accepted();
  complete_handshake(*c);
  std::vector<Bytes> seen;
  EXPECT_CALL(events_, on_frame(_, _))
      .Times(3)
      .WillRepeatedly(Invoke([&](Connection&, std::span<const std::uint8_t> f) {
        seen.emplace_back(f.begin(), f.end());
      }));
  Bytes chunk;
  for (const Bytes& body : {Bytes{112, 1}, Bytes{}, Bytes{112, 2, 3}, Bytes{112, 4}}) {
    auto f = frame(body);  // the empty body is a tick: not a frame
    chunk.insert(chunk.end(), f.begin(), f.end());
  }
  wire_.incoming.push_back(chunk);
  c->on_readable();
  // The pass-through byte belongs to the frame layer: bodies arrive without it.
  EXPECT_EQ(seen, (std::vector<Bytes>{{1}, {2, 3}, {4}}));
  EXPECT_TRUE(c->is_up());
}

// A connection that has not finished its handshake (a half-open one, a slowloris) holds a
// buffer the size of the largest handshake message, not a data-sized one; it grows once up.
TEST_F(ConnectionTest, TheReadBufferIsSmallUntilTheLinkIsUp) {
  auto c = accepted();
  EXPECT_LE(c->read_buffer_capacity(), 4096u);
  wire_.incoming.push_back({0, 30, 'N'});  // the start of a name message
  c->on_readable();
  EXPECT_LE(c->read_buffer_capacity(), 4096u);
}

TEST_F(ConnectionTest, AFrameWithoutThePassThroughByteIsDroppedAndTheLinkStays) {
  auto c = accepted();
  complete_handshake(*c);
  std::vector<Bytes> seen;
  EXPECT_CALL(events_, on_frame(_, _))
      .WillRepeatedly(Invoke([&](Connection&, std::span<const std::uint8_t> f) {
        seen.emplace_back(f.begin(), f.end());
      }));
  Bytes chunk = frame({131, 1, 2});
  const Bytes good = frame({112, 5});
  chunk.insert(chunk.end(), good.begin(), good.end());
  wire_.incoming.push_back(chunk);
  c->on_readable();
  EXPECT_EQ(seen, (std::vector<Bytes>{{5}}));
  EXPECT_TRUE(c->is_up());
}

TEST_F(ConnectionTest, AFrameSplitAcrossReadsIsDeliveredOnceComplete) {
  auto c = accepted();
  complete_handshake(*c);
  Bytes body(100000, 7);
  body[0] = 112;
  const auto f = frame(body);
  EXPECT_CALL(events_, on_frame(_, _)).Times(0);
  for (std::size_t off = 0; off + 1000 < f.size(); off += 1000) {
    wire_.incoming.emplace_back(f.begin() + static_cast<std::ptrdiff_t>(off),
                                f.begin() + static_cast<std::ptrdiff_t>(off + 1000));
  }
  c->on_readable();
  testing::Mock::VerifyAndClearExpectations(&events_);
  EXPECT_CALL(events_, on_frame(_, testing::SizeIs(body.size() - 1))).Times(1);
  wire_.incoming.emplace_back(
      f.end() - static_cast<std::ptrdiff_t>(f.size() % 1000 == 0 ? 1000 : f.size() % 1000),
      f.end());
  c->on_readable();
}

TEST_F(ConnectionTest, OversizedFrameLengthClosesTheLink) {
  auto c = accepted();
  complete_handshake(*c);
  Bytes huge;
  wire::put32(huge, 0xFFFFFFF0u);
  wire_.incoming.push_back(huge);
  EXPECT_CALL(events_,
              on_down(_, testing::Field(&Error::code, make_error_code(Errc::limit_exceeded))));
  c->on_readable();
  EXPECT_TRUE(c->is_closed());
}

TEST_F(ConnectionTest, StalledHandshakeTimesOut) {
  auto c = accepted();
  wire_.incoming.push_back({0, 30, 'N'});  // a name message that never completes
  c->on_readable();
  EXPECT_FALSE(c->is_closed());
  now_ += std::chrono::milliseconds(6999);
  c->on_timer();
  EXPECT_FALSE(c->is_closed());
  expect_timed_out_at(*c, now_ + std::chrono::milliseconds(2));
}

// OTP's rule (dist_util:send_tick/2), with net_ticktime 4 s: every ticktime/4 a check; a
// tick goes out if nothing was written since the last check, and the link is down when
// four checks in a row saw nothing read.
TEST_F(ConnectionTest, SendsATickOnlyAfterAQuietIntervalAndDropsAfterFourSilentOnes) {
  auto c = accepted();
  complete_handshake(*c);
  const auto up = now_;
  wire_.written.clear();
  EXPECT_EQ(c->next_deadline(), up + 1s);
  now_ = up + 1s;
  c->on_timer();
  EXPECT_EQ(wire_.written, (Bytes{0, 0, 0, 0}));
  EXPECT_EQ(c->next_deadline(), up + 2s);
  // Something written during the next interval: no tick at its check.
  we_write_at(*c, up + 1500ms);
  now_ = up + 2s;
  c->on_timer();
  EXPECT_TRUE(wire_.written.empty());
  now_ = up + 3s;
  c->on_timer();
  EXPECT_EQ(wire_.written, (Bytes{0, 0, 0, 0}));
  // Nothing read since the link came up: the fourth check is the last.
  EXPECT_TRUE(c->is_up());
  expect_timed_out_at(*c, up + 4s);
}

// The regression: a peer silent for a little more than net_ticktime, but never through four
// whole check intervals, keeps its link under OTP's rule. (The old rule, "silent for more
// than net_ticktime", dropped it, and BEAM nodes with a longer ticktime hit that.)
TEST_F(ConnectionTest, SilenceIsJudgedByCheckIntervalsNotByAStopwatch) {
  auto c = accepted();
  complete_handshake(*c);
  const auto up = now_;
  now_ = up + 100ms;
  wire_.incoming.push_back({0, 0, 0, 0});
  c->on_readable();
  for (auto t : {1000ms, 2000ms, 3000ms, 4000ms, 4500ms, 4800ms}) {
    now_ = up + t;
    c->on_timer();
    ASSERT_TRUE(c->is_up()) << t.count();
  }
  now_ = up + 4900ms;  // 4.8 s after the last read
  wire_.incoming.push_back({0, 0, 0, 0});
  c->on_readable();
  for (auto t : {5000ms, 6000ms, 7000ms, 8000ms}) {
    now_ = up + t;
    c->on_timer();
    ASSERT_TRUE(c->is_up()) << t.count();
  }
  expect_timed_out_at(*c, up + 9000ms);  // checks at 6, 7, 8 and 9 s read nothing
}

// A hidden peer (a C node: erl_interface answers ticks, it does not send its own) is ticked
// whenever nothing was read from it, even while we write: otherwise it would fall silent.
TEST_F(ConnectionTest, AHiddenPeerIsTickedWhenItWasQuietEvenIfWeWrote) {
  auto c = accepted();
  complete_handshake(*c, kOurFlags);
  const auto up = now_;
  we_write_at(*c, up + 500ms);
  now_ = up + 1s;
  c->on_timer();
  EXPECT_EQ(wire_.written, (Bytes{0, 0, 0, 0}));
}

// Back-to-back ticks show the peer's tick interval; one that does not fit our net_ticktime
// (here 2 s apart, an OTP node with net_ticktime 8 s, against our 4 s) is named once, and
// again in the reason if the link then times out.
TEST_F(ConnectionTest, APeerWhoseTicksDoNotFitOursGetsAHintNamingBothTickTimes) {
  test::LogCapture log(spdlog::level::info);
  auto c = accepted();
  complete_handshake(*c);
  const auto up = now_;
  auto peer_ticks_at = [&](std::chrono::milliseconds t) {
    now_ = up + t;
    wire_.incoming.push_back({0, 0, 0, 0});
    c->on_readable();
  };
  auto checks_until = [&](std::chrono::milliseconds t) {
    while (c->is_up() && c->next_deadline() <= up + t) {
      now_ = c->next_deadline();
      c->on_timer();
    }
  };
  peer_ticks_at(500ms);
  checks_until(2400ms);
  peer_ticks_at(2500ms);
  EXPECT_EQ(c->peer_tick_interval(), std::chrono::milliseconds(2000));
  checks_until(4400ms);
  peer_ticks_at(4500ms);
  EXPECT_EQ(log.count("a-1@h ticks every 2000 ms, as a node with a net_ticktime of about 8 s does; "
                      "ours is 4 s"),
            1u)
      << log.text();
  Error why;
  EXPECT_CALL(events_, on_down(_, _)).WillOnce(Invoke([&](Connection&, const Error& e) {
    why = e;
  }));
  checks_until(20s);
  EXPECT_EQ(why.code, make_error_code(Errc::timeout));
  EXPECT_NE(why.message.find("it ticks every 2000 ms"), std::string::npos) << why.message;
}

TEST_F(ConnectionTest, APeerTickingLikeUsGetsNoHint) {
  test::LogCapture log(spdlog::level::info);
  auto c = accepted();
  complete_handshake(*c);
  const auto up = now_;
  for (int k = 1; k <= 8; ++k) {
    now_ = up + k * 1000ms + 10ms;
    wire_.incoming.push_back({0, 0, 0, 0});
    c->on_readable();
    c->on_timer();
  }
  EXPECT_EQ(c->peer_tick_interval(), std::chrono::milliseconds(1000));
  EXPECT_EQ(log.count("ticks every"), 0u) << log.text();
  EXPECT_TRUE(c->is_up());
}

// A peer that never ticks before the link times out (a longer net_ticktime's first tick
// comes late) is told about in the reason.
TEST_F(ConnectionTest, APeerThatNeverTickedTimesOutWithAHint) {
  auto c = accepted();
  complete_handshake(*c);
  Error why;
  EXPECT_CALL(events_, on_down(_, _)).WillOnce(Invoke([&](Connection&, const Error& e) {
    why = e;
  }));
  for (int k = 0; k < 6 && c->is_up(); ++k) {
    now_ = c->next_deadline();
    c->on_timer();
  }
  EXPECT_NE(why.message.find("it sent no tick since the link came up"), std::string::npos)
      << why.message;
  EXPECT_NE(why.message.find("(4 s)"), std::string::npos) << why.message;
}

TEST_F(ConnectionTest, QueuedFramesSurviveABlockedSocket) {
  auto c = accepted();
  complete_handshake(*c);
  wire_.written.clear();
  wire_.block_writes = true;
  const Bytes body{131, 106};
  c->send_frame(body);
  c->send_frame(body);
  c->flush();
  EXPECT_TRUE(c->wants_write());
  EXPECT_TRUE(wire_.written.empty());
  wire_.block_writes = false;
  c->on_writable();
  EXPECT_FALSE(c->wants_write());
  EXPECT_EQ(wire_.written, (Bytes{0, 0, 0, 3, 112, 131, 106, 0, 0, 0, 3, 112, 131, 106}));
}

TEST_F(ConnectionTest, PeerCloseAfterDataDeliversTheDataFirst) {
  auto c = accepted();
  complete_handshake(*c);
  wire_.incoming.push_back(frame({112, 9}));
  wire_.after_data = {IoResult::Status::eof};
  testing::InSequence seq;
  EXPECT_CALL(events_, on_frame(_, _));
  EXPECT_CALL(events_, on_down(_, testing::Field(&Error::code, make_error_code(Errc::closed))));
  c->on_readable();
}

TEST_F(ConnectionTest, WrongCookieFromPeerClosesWithBadCookie) {
  auto c = accepted();
  auto peer = Handshake::initiator({"a-1@h", "wrong", kOurFlags, 9}, "b-2@h", [] { return 7u; });
  Bytes to_us;
  peer.start(to_us);
  wire_.incoming.push_back(to_us);
  c->on_readable();
  to_us.clear();
  std::size_t used = 0;
  peer.feed(wire_.written, used, to_us);
  wire_.incoming.push_back(to_us);
  EXPECT_CALL(events_, on_up(_)).Times(0);
  EXPECT_CALL(events_, on_down(_, testing::Field(&Error::code, make_error_code(Errc::bad_cookie))));
  c->on_readable();
  EXPECT_TRUE(c->is_closed());
}

// OTP closes the connection, without a word, when our challenge reply's digest is wrong.
TEST_F(ConnectionTest, AnOutboundLinkClosedAfterOurChallengeReplySaysTheCookieMayBeWrong) {
  auto hs = Handshake::initiator({"a-1@h", "ours", kOurFlags, 9}, "b-2@h", [] { return 7u; });
  EXPECT_CALL(*socket_, connect_result()).WillOnce(Return(0));
  Connection c(std::move(pending_socket_), std::move(hs), true, clock_, timeouts_, events_);
  c.on_writable();
  auto peer = Handshake::acceptor(
      {"b-2@h", "theirs", kOurFlags | kPublished, 3}, [] { return 1000u; },
      [](const std::string&) { return "ok"; });
  for (int i = 0; i < 5 && peer.state() == Handshake::State::in_progress; ++i) {
    Bytes to_us;
    std::size_t used = 0;
    peer.feed(wire_.written, used, to_us);
    wire_.written.erase(wire_.written.begin(),
                        wire_.written.begin() + static_cast<std::ptrdiff_t>(used));
    if (!to_us.empty()) wire_.incoming.push_back(to_us);
    c.on_readable();
  }
  ASSERT_EQ(peer.state(), Handshake::State::failed);
  ASSERT_EQ(peer.error().code, make_error_code(Errc::bad_cookie));
  Error why;
  EXPECT_CALL(events_, on_down(_, _)).WillOnce(Invoke([&](Connection&, const Error& e) {
    why = e;
  }));
  wire_.after_data = {IoResult::Status::eof};
  c.on_readable();
  EXPECT_TRUE(c.is_closed());
  EXPECT_EQ(why.code, make_error_code(Errc::bad_cookie));
  EXPECT_NE(why.message.find("the cookie may be wrong"), std::string::npos) << why.message;
}

TEST_F(ConnectionTest, OutboundConnectFailureIsReported) {
  auto hs = Handshake::initiator({"a-1@h", "secret", kOurFlags, 9}, "b-2@h", [] { return 7u; });
  EXPECT_CALL(*socket_, connect_result())
      .WillOnce(Return(EINPROGRESS))
      .WillOnce(Return(ECONNREFUSED));
  Connection c(std::move(pending_socket_), std::move(hs), true, clock_, timeouts_, events_);
  EXPECT_TRUE(c.wants_write());
  c.on_writable();
  EXPECT_FALSE(c.is_closed());
  EXPECT_CALL(events_, on_down(_, testing::Field(&Error::code, make_error_code(Errc::io_error))));
  c.on_writable();
  EXPECT_TRUE(c.is_closed());
}

}  // namespace
}  // namespace convoy::dist
