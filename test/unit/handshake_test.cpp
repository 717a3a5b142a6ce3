// The handshake state machine against scripted peers: no sockets, no clock.
#include "dist/handshake.hpp"

#include <gtest/gtest.h>

#include "dist/byte_order.hpp"
#include "dist/digest.hpp"
#include "dist/dist_flags.hpp"

namespace convoy::dist {
namespace {

using Bytes = std::vector<std::uint8_t>;

HandshakeParams params(std::string name, std::string cookie = "secret") {
  return {std::move(name), std::move(cookie), kOurFlags, 77};
}

Handshake::Random fixed(std::uint32_t v) {
  return [v] { return v; };
}

// Wraps a body in the 2-byte length prefix every handshake message carries.
Bytes msg(const Bytes& body) {
  Bytes out;
  out.reserve(2 + body.size());
  wire::put16(out, static_cast<std::uint16_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes name_body(char tag, std::uint64_t flags, std::uint32_t creation, const std::string& name) {
  Bytes b{static_cast<std::uint8_t>(tag)};
  wire::put64(b, flags);
  wire::put32(b, creation);
  wire::put16(b, static_cast<std::uint16_t>(name.size()));
  b.insert(b.end(), name.begin(), name.end());
  return b;
}

Bytes challenge_body(std::uint64_t flags, std::uint32_t challenge, const std::string& name) {
  Bytes b{'N'};
  wire::put64(b, flags);
  wire::put32(b, challenge);
  wire::put32(b, 5);
  wire::put16(b, static_cast<std::uint16_t>(name.size()));
  b.insert(b.end(), name.begin(), name.end());
  return b;
}

Bytes status_body(const std::string& s) {
  Bytes b{'s'};
  b.insert(b.end(), s.begin(), s.end());
  return b;
}

// Feeds everything in `in` and returns the state; `in` keeps what was not consumed.
Handshake::State feed_all(Handshake& h, Bytes& in, Bytes& out) {
  std::size_t used = 0;
  auto st = h.feed(in, used, out);
  in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(used));
  return st;
}

// Runs two state machines against each other until neither has anything to say.
void converse(Handshake& a, Handshake& b) {
  Bytes a_to_b, b_to_a;
  a.start(a_to_b);
  b.start(b_to_a);
  for (int round = 0; round < 10 && (!a_to_b.empty() || !b_to_a.empty()); ++round) {
    feed_all(b, a_to_b, b_to_a);
    feed_all(a, b_to_a, a_to_b);
  }
}

TEST(Digest, MatchesErlangMd5) {
  // erlang:md5(["secret" | integer_to_list(3735928559)]) on OTP 25.
  const Digest expected{195, 147, 155, 49, 215, 169, 19, 216, 46, 42, 206, 9, 36, 124, 123, 65};
  EXPECT_EQ(gen_digest(3735928559u, "secret"), expected);
  EXPECT_TRUE(digest_equal(expected, expected.data()));
  Digest other = expected;
  other[15] ^= 1;
  EXPECT_FALSE(digest_equal(expected, other.data()));
}

TEST(Handshake, GoodPathBothDirections) {
  auto a = Handshake::initiator(params("a-1@h"), "b-2@h", fixed(111));
  std::string admitted;
  auto b = Handshake::acceptor(params("b-2@h"), fixed(222), [&](const std::string& peer) {
    admitted = peer;
    return std::string("ok");
  });
  converse(a, b);
  ASSERT_EQ(a.state(), Handshake::State::done) << a.error().message;
  ASSERT_EQ(b.state(), Handshake::State::done) << b.error().message;
  EXPECT_EQ(admitted, "a-1@h");
  EXPECT_EQ(b.peer().name, "a-1@h");
  EXPECT_EQ(b.peer().creation, 77u);
  EXPECT_EQ(a.peer().name, "b-2@h");
  EXPECT_TRUE(a.peer().flags & kMandatory25);
}

TEST(Handshake, WrongCookieIsRefusedByTheAcceptor) {
  auto a = Handshake::initiator(params("a-1@h", "wrong"), "b-2@h", fixed(1));
  auto b = Handshake::acceptor(params("b-2@h", "secret"), fixed(2), {});
  converse(a, b);
  EXPECT_EQ(b.state(), Handshake::State::failed);
  EXPECT_EQ(b.error().code, make_error_code(Errc::bad_cookie));
  EXPECT_NE(a.state(), Handshake::State::done);
}

TEST(Handshake, InitiatorRejectsAWrongAckDigest) {
  auto a = Handshake::initiator(params("a-1@h"), "b-2@h", fixed(9));
  Bytes out;
  a.start(out);
  Bytes in = msg(status_body("ok"));
  auto more = msg(challenge_body(kOurFlags, 1234, "b-2@h"));
  in.insert(in.end(), more.begin(), more.end());
  Bytes ack{'a'};
  const auto bad = gen_digest(9, "other-cookie");
  ack.insert(ack.end(), bad.begin(), bad.end());
  more = msg(ack);
  in.insert(in.end(), more.begin(), more.end());
  EXPECT_EQ(feed_all(a, in, out), Handshake::State::failed);
  EXPECT_EQ(a.error().code, make_error_code(Errc::bad_cookie));
}

TEST(Handshake, InitiatorSendsCorrectChallengeReply) {
  auto a = Handshake::initiator(params("a-1@h"), "b-2@h", fixed(42));
  Bytes out;
  a.start(out);
  out.clear();
  Bytes in = msg(status_body("ok"));
  auto ch = msg(challenge_body(kOurFlags, 3735928559u, "b-2@h"));
  in.insert(in.end(), ch.begin(), ch.end());
  EXPECT_EQ(feed_all(a, in, out), Handshake::State::in_progress);
  ASSERT_EQ(out.size(), 2u + 21u);
  EXPECT_EQ(out[2], 'r');
  EXPECT_EQ(wire::get32(&out[3]), 42u);
  const auto d = gen_digest(3735928559u, "secret");
  EXPECT_TRUE(digest_equal(d, &out[7]));
}

TEST(Handshake, AcceptorRefusesThePreOtp23Handshake) {
  auto b = Handshake::acceptor(params("b-2@h"), fixed(2), {});
  Bytes in = msg({'n', 0, 5, 0, 0, 0, 0, 'a', '@', 'h'}), out;
  EXPECT_EQ(feed_all(b, in, out), Handshake::State::failed);
  EXPECT_NE(b.error().message.find("OTP 23"), std::string::npos);
  EXPECT_EQ(out, msg(status_body("not_allowed")));
}

TEST(Handshake, InitiatorFailsOnRefusalStatus) {
  for (const char* status : {"nok", "not_allowed", "garbage"}) {
    auto a = Handshake::initiator(params("a-1@h"), "b-2@h", fixed(1));
    Bytes out;
    a.start(out);
    Bytes in = msg(status_body(status));
    EXPECT_EQ(feed_all(a, in, out), Handshake::State::failed) << status;
    EXPECT_NE(a.error().message.find(status), std::string::npos) << a.error().message;
  }
}

TEST(Handshake, NokMarksALostSimultaneousConnect) {
  for (const char* status : {"nok", "not_allowed"}) {
    auto a = Handshake::initiator(params("a-1@h"), "b-2@h", fixed(1));
    Bytes out;
    a.start(out);
    Bytes in = msg(status_body(status));
    EXPECT_EQ(feed_all(a, in, out), Handshake::State::failed);
    EXPECT_EQ(a.lost_simultaneous(), std::string(status) == "nok") << status;
  }
}

TEST(Handshake, AliveStatusIsAnsweredWithTrue) {
  auto a = Handshake::initiator(params("a-1@h"), "b-2@h", fixed(1));
  Bytes out;
  a.start(out);
  out.clear();
  Bytes in = msg(status_body("alive"));
  EXPECT_EQ(feed_all(a, in, out), Handshake::State::in_progress);
  EXPECT_EQ(out, msg(status_body("true")));
}

TEST(Handshake, TruncatedMessagesWaitForMoreBytes) {
  auto a = Handshake::initiator(params("a-1@h"), "b-2@h", fixed(1));
  auto b = Handshake::acceptor(params("b-2@h"), fixed(2), {});
  Bytes a_to_b, b_to_a;
  a.start(a_to_b);
  // Deliver one byte at a time: every prefix must leave the acceptor waiting.
  Bytes in;
  for (std::size_t i = 0; i + 1 < a_to_b.size(); ++i) {
    in.push_back(a_to_b[i]);
    ASSERT_EQ(feed_all(b, in, b_to_a), Handshake::State::in_progress);
    ASSERT_TRUE(b_to_a.empty());
  }
  in.push_back(a_to_b.back());
  EXPECT_EQ(feed_all(b, in, b_to_a), Handshake::State::in_progress);
  EXPECT_TRUE(in.empty());
  EXPECT_FALSE(b_to_a.empty());  // status + challenge
}

TEST(Handshake, OversizedOrEmptyMessagesFail) {
  for (std::uint16_t len :
       {std::uint16_t{0}, std::uint16_t{Handshake::kMaxMessage + 1}, std::uint16_t{65535}}) {
    auto b = Handshake::acceptor(params("b-2@h"), fixed(2), {});
    Bytes in, out;
    wire::put16(in, len);
    in.push_back('N');
    EXPECT_EQ(feed_all(b, in, out), Handshake::State::failed) << len;
  }
}

TEST(Handshake, MalformedNameMessagesFail) {
  const std::vector<Bytes> bodies = {
      {'N', 1, 2},                               // too short
      name_body('N', kOurFlags, 1, "noatsign"),  // not a node name
      name_body('X', kOurFlags, 1, "a@h"),       // wrong tag
  };
  for (const auto& body : bodies) {
    auto b = Handshake::acceptor(params("b-2@h"), fixed(2), {});
    Bytes in = msg(body), out;
    EXPECT_EQ(feed_all(b, in, out), Handshake::State::failed);
  }
  // Name length field larger than the message.
  auto body = name_body('N', kOurFlags, 1, "a@h");
  body[14] = 50;
  auto b = Handshake::acceptor(params("b-2@h"), fixed(2), {});
  Bytes in = msg(body), out;
  EXPECT_EQ(feed_all(b, in, out), Handshake::State::failed);
}

TEST(Handshake, PeersWithoutMandatoryFlagsAreRefused) {
  auto b = Handshake::acceptor(params("b-2@h"), fixed(2), {});
  Bytes in = msg(name_body('N', kHandshake23 | kUtf8Atoms, 1, "old@h")), out;
  EXPECT_EQ(feed_all(b, in, out), Handshake::State::failed);
  EXPECT_NE(b.error().message.find("mandatory"), std::string::npos);
}

TEST(Handshake, Mandatory25DigestStandsForAllMandatoryFlags) {
  auto b = Handshake::acceptor(params("b-2@h"), fixed(2), {});
  Bytes in = msg(name_body('N', kMandatory25Digest, 1, "new@h")), out;
  EXPECT_EQ(feed_all(b, in, out), Handshake::State::in_progress) << b.error().message;
  EXPECT_EQ(b.peer().flags & kMandatory25, kMandatory25);
}

TEST(Handshake, ChallengeFromTheWrongNodeFails) {
  auto a = Handshake::initiator(params("a-1@h"), "b-2@h", fixed(1));
  Bytes out;
  a.start(out);
  Bytes in = msg(status_body("ok"));
  auto ch = msg(challenge_body(kOurFlags, 5, "impostor@h"));
  in.insert(in.end(), ch.begin(), ch.end());
  EXPECT_EQ(feed_all(a, in, out), Handshake::State::failed);
  EXPECT_NE(a.error().message.find("impostor@h"), std::string::npos);
}

TEST(Handshake, AdmitCanRefuse) {
  auto b = Handshake::acceptor(params("b-2@h"), fixed(2),
                               [](const std::string&) { return std::string("nok"); });
  Bytes in = msg(name_body('N', kOurFlags, 1, "a@h")), out;
  EXPECT_EQ(feed_all(b, in, out), Handshake::State::failed);
  EXPECT_EQ(out, msg(status_body("nok")));
}

TEST(Handshake, BytesAfterTheLastMessageAreLeftForFraming) {
  auto a = Handshake::initiator(params("a-1@h"), "b-2@h", fixed(1));
  auto b = Handshake::acceptor(params("b-2@h"), fixed(2), {});
  Bytes a_to_b, b_to_a;
  a.start(a_to_b);
  feed_all(b, a_to_b, b_to_a);
  feed_all(a, b_to_a, a_to_b);
  feed_all(b, a_to_b, b_to_a);  // b is done and sent the ack
  ASSERT_EQ(b.state(), Handshake::State::done);
  b_to_a.insert(b_to_a.end(), {0, 0, 0, 0, 0xAB});  // a tick and a stray byte
  std::size_t used = 0;
  Bytes out;
  EXPECT_EQ(a.feed(b_to_a, used, out), Handshake::State::done);
  EXPECT_EQ(used, b_to_a.size() - 5);
}

}  // namespace
}  // namespace convoy::dist
