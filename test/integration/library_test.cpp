// The convoy library in-process against live BEAM nodes and against OTP's own C
// implementation of the handshake (stock erl_interface), as an independent cross-check.
#include <ei.h>
#include <gtest/gtest.h>

#include <thread>

#include "convoy/node.hpp"
#include "convoy/services.hpp"
#include "harness.hpp"

namespace convoy::test {
namespace {

using Kind = BeamNode::Kind;

TEST(Library, ConnectsOutToErlangAndElixirAndCallsTheirGenServers) {
  auto node = start_node();
  for (Kind kind : {Kind::erlang, Kind::elixir}) {
    auto beam = BeamNode::start(kind, kind == Kind::erlang ? "erl" : "ex", kCookie);
    auto pong = call_and_wait(*node, {"fixture_server", beam.name}, Term::atom("ping"), 10s);
    ASSERT_TRUE(pong.ok()) << pong.error().message;
    EXPECT_EQ(*pong, Term::atom("pong"));
    EXPECT_TRUE(node->is_connected(beam.name));
    // A term with every kind our side can build, echoed by a BEAM gen_server.
    const Term t = Term::tuple(
        {Term::atom("ünïcødé"), Term::integer(std::int64_t{-5}), Term::integer(UINT64_MAX),
         Term::float_(2.5), Term::binary("bytes"), Term::bitstring({0xA0}, 3),
         Term::string("chars"), Term::list({Term::integer(std::int64_t{1})}, Term::atom("tail")),
         Term::map({{Term::atom("k"), Term::map({{Term::integer(std::int64_t{1}), Term()}})}}),
         Term::ref(node->make_ref()), Term::pid(node->spawn([](Node&, const Pid&, const Term&) {})),
         Term::export_fun({"lists", "reverse", 1})});
    auto echoed = call_and_wait(*node, {"fixture_server", beam.name},
                                Term::tuple({Term::atom("echo"), t}), 10s);
    ASSERT_TRUE(echoed.ok()) << echoed.error().message;
    EXPECT_EQ(*echoed, t) << echoed->to_string() << " vs " << t.to_string();
  }
}

TEST(Library, CallToAMissingNodeFailsCleanly) {
  auto node = start_node();
  const auto port = free_port();  // nothing listens there
  auto r = call_and_wait(*node, {"x", "gone-" + std::to_string(port) + "@127.0.0.1"},
                         Term::atom("ping"), 3s);
  ASSERT_FALSE(r.ok());
  // Connection refused fails the dial, and the call's monitor reports noconnection at once
  // instead of waiting for the timeout.
  EXPECT_EQ(r.error().code, make_error_code(Errc::not_connected)) << r.error().message;
}

class StockEi : public testing::Test {
 protected:
  static void SetUpTestSuite() { ei_init(); }

  // Stock ei's own dial + handshake to 127.0.0.1:port; the fd, or < 0.
  static int ei_dial(ei_cnode* ec, std::uint16_t port) {
    in_addr addr{};
    addr.s_addr = htonl(INADDR_LOOPBACK);
    return ei_xconnect_host_port_tmo(ec, &addr, port, 5000);
  }

  static ei_cnode client(const std::string& cookie, const std::string& alive) {
    ei_cnode ec;
    const std::string node = alive + "@127.0.0.1";
    in_addr addr{};
    addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_GE(
        ei_connect_xinit(&ec, "127.0.0.1", alive.c_str(), node.c_str(), &addr, cookie.c_str(), 42),
        0);
    return ec;
  }
};

TEST_F(StockEi, ConnectsToOurNodeAndExchangesAMessage) {
  auto node = start_node();
  ASSERT_TRUE(install_builtin_services(*node).ok());
  std::thread loop([&] { node->run(); });

  ei_cnode ec = client(kCookie, "eiclient");
  const int fd = ei_dial(&ec, node->name().port());
  ASSERT_GE(fd, 0) << "stock ei handshake with our node failed, erl_errno " << erl_errno;

  // {SelfPid, {hello, 42}} to the registered echo process; it must come straight back.
  ei_x_buff x;
  ei_x_new_with_version(&x);
  ei_x_encode_tuple_header(&x, 2);
  ei_x_encode_pid(&x, ei_self(&ec));
  ei_x_encode_tuple_header(&x, 2);
  ei_x_encode_atom(&x, "hello");
  ei_x_encode_long(&x, 42);
  ASSERT_EQ(ei_reg_send(&ec, fd, const_cast<char*>("echo"), x.buff, x.index), 0);
  ei_x_free(&x);

  ei_x_buff in;
  ei_x_new(&in);
  erlang_msg msg;
  int got = ERL_TICK;
  for (int i = 0; i < 10 && got == ERL_TICK; ++i) got = ei_xreceive_msg_tmo(fd, &msg, &in, 5000);
  ASSERT_EQ(got, ERL_MSG);
  EXPECT_EQ(msg.msgtype, ERL_SEND);
  std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(in.buff),
                                      static_cast<std::size_t>(in.index));
  auto t = decode(bytes);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, Term::tuple({Term::atom("hello"), Term::integer(std::int64_t{42})}));
  ei_x_free(&in);
  ei_close_connection(fd);

  node->stop();
  loop.join();
}

TEST_F(StockEi, WrongCookieIsRefusedAndTheNodeKeepsServing) {
  auto node = start_node();
  ASSERT_TRUE(install_builtin_services(*node).ok());
  std::thread loop([&] { node->run(); });
  ei_cnode bad = client("wrong", "badclient");
  EXPECT_LT(ei_dial(&bad, node->name().port()), 0);
  ei_cnode good = client(kCookie, "goodclient");
  const int fd = ei_dial(&good, node->name().port());
  EXPECT_GE(fd, 0);
  if (fd >= 0) ei_close_connection(fd);
  node->stop();
  loop.join();
}

TEST_F(StockEi, OurNodeDialsAStockEiListener) {
  // The other direction: our initiator against ei's acceptor.
  auto node = start_node();
  const auto port = free_port();
  const std::string alive = "eiserver-" + std::to_string(port);
  ei_cnode ec = client(kCookie, alive);
  int listen_port = port;
  in_addr addr{};
  addr.s_addr = htonl(INADDR_LOOPBACK);
  const int lfd = ei_xlisten(&ec, &addr, &listen_port, 5);
  ASSERT_GE(lfd, 0);
  std::atomic<int> accepted{-1};
  std::thread acceptor([&] {
    ErlConnect conn;
    accepted = ei_accept_tmo(&ec, lfd, &conn, 10000);
  });
  std::optional<Status> outcome;
  node->connect(*NodeName::parse(alive + "@127.0.0.1"), [&](Status st) { outcome = st; });
  node->run_until([&] { return outcome.has_value(); }, 15s);
  acceptor.join();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->ok()) << outcome->error().message;
  EXPECT_GE(accepted.load(), 0);
  if (accepted >= 0) ei_close_connection(accepted);
  ::close(lfd);
}

}  // namespace
}  // namespace convoy::test
