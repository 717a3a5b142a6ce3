// Discovery end to end: Knot DNS standing in for Consul, live Erlang and Elixir nodes, the
// c_node binary with discovery on, and the fixture's Erlang strategy on the BEAM side.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <regex>
#include <thread>

#include "canned_dns_server.hpp"
#include "harness.hpp"
#include "knot_server.hpp"
#include "printed_term.hpp"

namespace convoy::test {
namespace {

using Kind = BeamNode::Kind;
using namespace std::chrono_literals;
const std::string kService = "svc.service.consul.";

std::vector<std::string> discovery_flags(const KnotServer& knot, int poll_ms,
                                         std::vector<std::string> extra = {}) {
  std::vector<std::string> f{
      "--consul-service", "svc",          "--node-sname",    "app",
      "--nameserver",     knot.address(), "--poll-interval", std::to_string(poll_ms)};
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

// The fixture's serve/0 plus its DNS strategy polling `knot` for svc.service.consul every
// `poll_ms` (peers named app-PORT@TARGET).
std::string serve_discovering(const KnotServer& knot, int poll_ms) {
  return "convoy_fixture:serve_discovering(\"svc.service.consul\", \"app\", " +
         std::to_string(knot.port()) + ", " + std::to_string(poll_ms) + ")";
}

// Waits for the c_node's log to say the link to `node` is up.
bool wait_link_up(const CNode& c, const std::string& node, std::chrono::milliseconds limit) {
  return c.process.wait_output("link up: " + node, limit);
}

TEST(Discovery, CNodeJoinsEveryPeerFromSrvRecordsAndLaterAdditions) {
  KnotServer knot(KnotServer::zone_header());
  std::vector<BeamNode> peers;
  for (Kind k : {Kind::erlang, Kind::elixir, Kind::erlang, Kind::elixir}) {
    peers.push_back(BeamNode::start(k, "app", kCookie));
    knot.add_srv(kService, peers.back().port, "127.0.0.1.");
  }
  auto c = CNode::start(kCookie, discovery_flags(knot, 500));
  for (const auto& p : peers) EXPECT_TRUE(wait_link_up(c, p.name, 10s)) << c.process.output();
  auto r = run_client(Kind::erlang,
                      "convoy_fixture:call({c_node, '" + c.name + "'}, nodes, 5000), halt().");
  const auto nodes = printed_term(r.output, "CALL ok ");
  for (const auto& p : peers) {
    EXPECT_TRUE(nodes.ok() && has_element(*nodes, Term::atom(p.name))) << p.name << r.output;
  }

  // A record that appears at runtime is joined within one poll interval (plus the dial).
  auto late = BeamNode::start(Kind::erlang, "app", kCookie);
  knot.add_srv(kService, late.port, "127.0.0.1.");  // served once this returns
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_link_up(c, late.name, 5s)) << c.process.output();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("record published -> link up: %lld ms (poll interval 500 ms)\n",
              static_cast<long long>(ms));
  RecordProperty("record_to_link_ms", static_cast<int>(ms));
  EXPECT_LT(ms, 500 + 1500);  // one interval, plus generous slack for a loaded machine
}

// Two BEAM peers listed in Knot, and a c_node discovering them with `flags`: `stays`
// remains listed, `other` is the one a test takes away.
class TwoListedPeers : public testing::Test {
 protected:
  TwoListedPeers()
      : knot(KnotServer::zone_header()),
        stays(BeamNode::start(Kind::erlang, "app", kCookie)),
        other(BeamNode::start(Kind::erlang, "app", kCookie)) {
    knot.add_srv(kService, stays.port, "127.0.0.1.");
    knot.add_srv(kService, other.port, "127.0.0.1.");
  }
  // Starts the c_node and waits for both links.
  CNode& start(int poll_ms, std::vector<std::string> flags) {
    c.emplace(CNode::start(kCookie, discovery_flags(knot, poll_ms, std::move(flags))));
    EXPECT_TRUE(wait_link_up(*c, stays.name, 10s)) << c->process.output();
    EXPECT_TRUE(wait_link_up(*c, other.name, 10s)) << c->process.output();
    return *c;
  }
  KnotServer knot;
  BeamNode stays, other;
  std::optional<CNode> c;
};

TEST_F(TwoListedPeers, PruneDropsANodeWhoseRecordIsRemoved) {
  auto& c = start(300, {"--prune-after", "2"});
  ASSERT_FALSE(HasFailure());
  const auto& leaves = other;
  knot.remove_srv(kService, leaves.port, "127.0.0.1.");
  EXPECT_TRUE(c.process.wait_output("link down: " + leaves.name, 5s)) << c.process.output();
  EXPECT_NE(c.process.output().find(leaves.name + " left svc.service.consul"), std::string::npos);
  // Not flapping: the remaining peer's link was never touched.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(c.process.output().find("link down: " + stays.name), std::string::npos);
}

TEST(Discovery, WithoutPruneARemovedRecordKeepsItsLink) {
  KnotServer knot(KnotServer::zone_header());
  auto peer = BeamNode::start(Kind::erlang, "app", kCookie);
  knot.add_srv(kService, peer.port, "127.0.0.1.");
  auto c = CNode::start(kCookie, discovery_flags(knot, 200));
  ASSERT_TRUE(wait_link_up(c, peer.name, 10s)) << c.process.output();
  knot.remove_srv(kService, peer.port, "127.0.0.1.");
  std::this_thread::sleep_for(1500ms);  // several polls that no longer name it
  EXPECT_EQ(c.process.output().find("link down"), std::string::npos) << c.process.output();
}

TEST_F(TwoListedPeers, ADeadPeerWhoseRecordIsGoneIsNoLongerDialled) {
  auto& c = start(200, {"--log-level", "debug"});
  ASSERT_FALSE(HasFailure());
  auto& dies = other;
  // A redeploy: the node stops, and its record leaves with it.
  dies.process.kill_group();
  ASSERT_TRUE(c.process.wait_output("link down: " + dies.name, 5s)) << c.process.output();
  knot.remove_srv(kService, dies.port, "127.0.0.1.");
  EXPECT_TRUE(c.process.wait_output(dies.name + " is no longer in svc.service.consul", 5s))
      << c.process.output();
  const auto dials = count_of(c.process.output(), "dialling " + dies.name);
  // Many polls and what would have been several backoff rounds (500 ms, 1 s, 2 s).
  std::this_thread::sleep_for(4s);
  const auto out = c.process.output();
  EXPECT_EQ(count_of(out, "dialling " + dies.name), dials) << out;
  EXPECT_EQ(out.find("link down: " + stays.name), std::string::npos) << out;
}

TEST(Discovery, DnsOutageKeepsLinksAndPollingResumes) {
  KnotServer knot(KnotServer::zone_header());
  auto peer = BeamNode::start(Kind::erlang, "app", kCookie);
  knot.add_srv(kService, peer.port, "127.0.0.1.");
  auto c = CNode::start(kCookie, discovery_flags(knot, 200));
  ASSERT_TRUE(wait_link_up(c, peer.name, 10s)) << c.process.output();
  knot.stop();
  ASSERT_TRUE(c.process.wait_output("DNS lookup of svc.service.consul failed", 15s))
      << c.process.output();
  std::this_thread::sleep_for(3s);  // a dozen polls into the outage
  const auto during = c.process.output();
  EXPECT_EQ(count_of(during, "DNS lookup of svc.service.consul failed"), 1u) << during;
  EXPECT_EQ(during.find("link down"), std::string::npos) << during;

  // Back up, with a new member: polling resumes and finds it.
  knot.restart();
  auto late = BeamNode::start(Kind::elixir, "app", kCookie);
  knot.add_srv(kService, late.port, "127.0.0.1.");
  EXPECT_TRUE(c.process.wait_output("works again", 15s)) << c.process.output();
  EXPECT_TRUE(wait_link_up(c, late.name, 10s)) << c.process.output();
}

TEST(Discovery, ErlangStrategyOnABeamNodeFindsTheCNode) {
  KnotServer knot(KnotServer::zone_header());
  // The c_node registered under the same service, named as Caravan names peers.
  const auto cport = free_port();
  const std::string cname = "app-" + std::to_string(cport) + "@127.0.0.1";
  Process c_proc(
      {c_node_binary(), "--name", cname, "--cookie", kCookie, "--listen-address", "127.0.0.1"});
  ASSERT_TRUE(wait_listening(cport, 10s)) << c_proc.output();
  knot.add_srv(kService, cport, "127.0.0.1.");

  auto discovering = BeamNode::spawn(Kind::erlang, "app", serve_discovering(knot, 300));
  const std::string& bname = discovering.name;
  Process& beam = discovering.process;
  EXPECT_TRUE(beam.wait_output("DISCOVERED '" + cname + "'", 15s)) << beam.output();
  EXPECT_TRUE(c_proc.wait_output("link up: " + bname + " (inbound", 5s)) << c_proc.output();
}

// A port in 9000..9999, so "app-9xxx" sorts above every "app-<ephemeral port>" name.
std::uint16_t high_sorting_port() {
  for (std::uint16_t p = 9100; p < 9999; ++p) {
    if (is_listening(p)) continue;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(p);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return p;
  }
  throw std::runtime_error("no free port in 9100..9999");
}

// Batches of BEAM nodes appear in DNS while the c_node, whose name sorts above theirs, is
// listed there too: both sides discover each other in the same moments and dial at once.
// Each pair must end with one link that never goes down (it used to flap: the inbound
// handshake was not the peer's pending entry, so the node dialled too).
TEST(Discovery, NodesDiscoveringEachOtherAtOnceLinkWithoutFlapping) {
  KnotServer knot(KnotServer::zone_header());
  const auto cport = high_sorting_port();
  const std::string cname = "app-" + std::to_string(cport) + "@127.0.0.1";
  Process c_proc({c_node_binary(), "--name", cname, "--cookie", kCookie, "--listen-address",
                  "127.0.0.1", "--consul-service", "svc", "--node-sname", "app", "--nameserver",
                  knot.address(), "--poll-interval", "200", "--log-level", "debug"});
  ASSERT_TRUE(wait_listening(cport, 10s)) << c_proc.output();
  knot.add_srv(kService, cport, "127.0.0.1.");

  constexpr int kBatches = 3, kPerBatch = 8;
  std::vector<BeamNode> beams;
  std::vector<std::string> names;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<std::uint16_t> ports;
    for (int k = 0; k < kPerBatch; ++k) {
      beams.push_back(BeamNode::spawn(Kind::erlang, "app", serve_discovering(knot, 200)));
      ASSERT_LT(beams.back().name, cname);
      ports.push_back(beams.back().port);
      names.push_back(beams.back().name);
    }
    for (auto port : ports) knot.add_srv(kService, port, "127.0.0.1.");  // the batch at once
    for (std::size_t k = names.size() - kPerBatch; k < names.size(); ++k) {
      EXPECT_TRUE(c_proc.wait_output("link up: " + names[k], 20s)) << c_proc.output();
    }
  }
  std::this_thread::sleep_for(1500ms);  // a flap shows within milliseconds; leave room
  const std::string out = c_proc.output();
  const auto flaps = count_of(out, "link down: ");
  std::size_t both_ways = 0;  // peers we dialled while they were dialling us
  for (const auto& n : names) {
    if (count_of(out, "dialling " + n) > 0 && count_of(out, "accepted a connection from") > 0 &&
        count_of(out, "link up: " + n + " (inbound") + count_of(out, "refused its dial") > 0) {
      ++both_ways;
    }
  }
  std::printf("%d joins: %zu link-down lines, %zu peers dialled both ways, %zu inbound links\n",
              kBatches * kPerBatch, flaps, both_ways, count_of(out, "(inbound"));
  RecordProperty("flaps", static_cast<int>(flaps));
  EXPECT_EQ(flaps, 0u) << out;
  for (const auto& n : names) EXPECT_EQ(count_of(out, "link up: " + n), 1u) << n;
}

TEST(Discovery, ConsulsPlainUdpCapDoesNotHidePeers) {
  // Six healthy instances. Like Consul, the server answers plain UDP without EDNS0 with only
  // three of them and no TC bit; with EDNS0 (or over TCP) it returns all six. A client that
  // queries the way Caravan does would never see the last three.
  std::vector<BeamNode> peers;
  for (int i = 0; i < 6; ++i) {
    peers.push_back(BeamNode::start(i % 3 == 2 ? Kind::elixir : Kind::erlang, "app", kCookie));
  }
  auto records = [&](std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
      out += kService + " 0 IN SRV 1 1 " + std::to_string(peers[i].port) + " 127.0.0.1.\n";
    }
    return out;
  };
  const std::string head = "ENTRY_BEGIN\nMATCH opcode qtype qname";
  const std::string reply = "\nADJUST copy_id\nREPLY QR AA RD NOERROR\nSECTION QUESTION\n" +
                            kService + " IN SRV\nSECTION ANSWER\n";
  CannedDnsServer consul(head + " noedns UDP" + reply + records(3) + "ENTRY_END\n" + head + reply +
                         records(6) + "ENTRY_END\n");
  auto c = CNode::start(kCookie, {"--consul-service", "svc", "--node-sname", "app", "--nameserver",
                                  consul.address(), "--poll-interval", "500"});
  for (const auto& p : peers) EXPECT_TRUE(wait_link_up(c, p.name, 10s)) << c.process.output();
}

}  // namespace
}  // namespace convoy::test
