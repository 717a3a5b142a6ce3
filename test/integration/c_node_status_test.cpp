// The c_node as monitoring sees it: /metrics that move when a BEAM peer connects and sends,
// /health that turns 503 when DNS stays down, and SIGHUP applying a changed config file.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "harness.hpp"
#include "knot_server.hpp"
#include "raw_peer.hpp"

namespace convoy::test {
namespace {

using namespace std::chrono_literals;
using Kind = BeamNode::Kind;

struct Http {
  int status = 0;  // 0: no answer
  std::string body;
};
Http get(std::uint16_t port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  auto r = client.Get(path);
  if (!r) return {};
  return {r->status, r->body};
}

// The value of the series `series` (name and labels as printed) in a /metrics body; -1 if
// it is absent.
double metric(const std::string& body, const std::string& series) {
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

TEST(CNodeStatus, MetricsMoveWhenABeamPeerConnectsAndSends) {
  const auto http_port = free_port();
  auto c = CNode::start(kCookie, {"--metrics-address", std::to_string(http_port)});
  ASSERT_TRUE(c.process.wait_output("metrics at http://127.0.0.1:" + std::to_string(http_port), 5s))
      << c.process.output();
  const auto before = get(http_port, "/metrics");
  ASSERT_EQ(before.status, 200) << c.process.output();
  EXPECT_EQ(metric(before.body, "convoy_peers_connected"), 0);
  EXPECT_EQ(metric(before.body, "convoy_links_up_total"), 0);
  EXPECT_EQ(metric(before.body, "convoy_messages_received_total"), 0);
  EXPECT_NE(before.body.find("convoy_info{node=\"" + c.name + "\""), std::string::npos);

  // A peer that streams 200 messages through echo, then stays connected.
  auto peer = BeamNode::spawn(
      Kind::erlang, "peer",
      "convoy_fixture:echo_stream(" + erl_atom(c.name) + ", 200, 20000), timer:sleep(infinity)");
  ASSERT_TRUE(peer.process.wait_output("STREAM ok 200", 60s)) << peer.process.output();
  Http after;
  ASSERT_TRUE(eventually(
      [&] {
        after = get(http_port, "/metrics");
        return metric(after.body, "convoy_peers_connected") == 1;
      },
      5s))
      << after.body;
  EXPECT_EQ(metric(after.body, "convoy_links_up_total"), 1);
  EXPECT_EQ(metric(after.body, "convoy_handshakes_accepted_total"), 1);
  EXPECT_GE(metric(after.body, "convoy_messages_received_total"), 200);
  EXPECT_GE(metric(after.body, "convoy_messages_sent_total"), 200);
  EXPECT_GT(metric(after.body, "convoy_received_bytes_total"), 200 * 10);
  EXPECT_GT(metric(after.body, "convoy_sent_bytes_total"), 200 * 10);
  EXPECT_EQ(metric(after.body, "convoy_pending_messages"), 0);

  // The peer dies: its link goes down, with the reason.
  peer.process.kill_group();
  ASSERT_TRUE(eventually(
      [&] {
        after = get(http_port, "/metrics");
        return metric(after.body, "convoy_peers_connected") == 0;
      },
      10s))
      << after.body;
  EXPECT_NE(after.body.find("convoy_links_down_total{reason="), std::string::npos) << after.body;
  EXPECT_EQ(get(http_port, "/health").status, 200);
  EXPECT_EQ(get(http_port, "/nope").status, 404);
}

TEST(CNodeStatus, WrongCookieConnectionsAreCountedAsRefused) {
  const auto http_port = free_port();
  auto c = CNode::start(kCookie, {"--metrics-address", "127.0.0.1:" + std::to_string(http_port)});
  ASSERT_TRUE(c.process.wait_output("metrics at", 5s)) << c.process.output();
  auto r = run_client(Kind::erlang, "convoy_fixture:ping(" + erl_atom(c.name) + ", 5000), halt().",
                      60s, "not-the-cookie");
  EXPECT_NE(r.output.find("PING pang"), std::string::npos) << r.output;
  Http m;
  EXPECT_TRUE(eventually(
      [&] {
        m = get(http_port, "/metrics");
        return metric(m.body, "convoy_handshakes_refused_total{reason=\"bad_cookie\"}") >= 1;
      },
      5s))
      << m.body;
  EXPECT_EQ(metric(m.body, "convoy_links_up_total"), 0);
}

TEST(CNodeStatus, HealthTurns503WhenDnsStaysDown) {
  KnotServer knot(KnotServer::zone_header());
  const auto http_port = free_port();
  auto c =
      CNode::start(kCookie, {"--metrics-address", std::to_string(http_port), "--consul-service",
                             "svc", "--node-sname", "app", "--nameserver", knot.address(),
                             "--poll-interval", "100", "--health-dns-failures", "2"});
  Http h;
  ASSERT_TRUE(eventually(
      [&] {
        h = get(http_port, "/health");
        return h.status == 200 && h.body.find("DNS answered") != std::string::npos;
      },
      10s))
      << h.status << " " << h.body << c.process.output();
  EXPECT_GE(metric(get(http_port, "/metrics").body, "convoy_dns_polls_total"), 1);

  knot.stop();
  ASSERT_TRUE(eventually(
      [&] {
        h = get(http_port, "/health");
        return h.status == 503;
      },
      30s))
      << h.status << " " << h.body;
  EXPECT_NE(h.body.find("DNS discovery failed the last"), std::string::npos) << h.body;
  EXPECT_EQ(std::count(h.body.begin(), h.body.end(), '\n'), 1) << h.body;  // one line
  const auto m = get(http_port, "/metrics").body;
  EXPECT_GE(metric(m, "convoy_dns_poll_failures_total"), 2) << m;
  EXPECT_GT(metric(m, "convoy_dns_last_success_age_seconds"), 0) << m;

  knot.restart();
  EXPECT_TRUE(eventually([&] { return get(http_port, "/health").status == 200; }, 30s));
}

TEST(CNodeStatus, AMetricsPortInUseIsAStartupError) {
  SilentListener holder;  // a plain listener: no SO_REUSEPORT to share it
  const auto http_port = holder.port();
  const auto port = free_port();
  Process p({c_node_binary(), "--name", "m-" + std::to_string(port) + "@127.0.0.1", "--cookie",
             kCookie, "--listen-address", "127.0.0.1", "--metrics-address",
             std::to_string(http_port)});
  const auto code = p.wait(10s);
  ASSERT_TRUE(code.has_value()) << p.output();
  EXPECT_EQ(*code, 1) << p.output();
  EXPECT_NE(p.output().find("cannot listen for metrics on 127.0.0.1:" + std::to_string(http_port)),
            std::string::npos)
      << p.output();
}

struct ConfigFile {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("convoy-reload-" + std::to_string(::getpid()) + "-" + std::to_string(free_port()) + ".toml");
  ~ConfigFile() { std::filesystem::remove(path); }
  void write(const std::string& text) const {
    const auto tmp = path.string() + ".new";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, path);  // whole, as an operator's editor or CM tool does
  }
};

TEST(CNodeStatus, SighupAppliesLogLevelAndPollIntervalAndNamesWhatNeedsARestart) {
  KnotServer knot(KnotServer::zone_header());
  ConfigFile file;
  const auto port = free_port();
  const auto http_port = free_port();
  const std::string name = "reload-" + std::to_string(port) + "@127.0.0.1";
  auto config = [&](const std::string& level, int poll_ms, int ticktime) {
    return "name = \"" + name + "\"\nlisten_address = \"127.0.0.1\"\nlog_level = \"" + level +
           "\"\nconsul_service = \"svc\"\nnode_sname = \"app\"\nnameservers = [\"" +
           knot.address() + "\"]\npoll_interval = " + std::to_string(poll_ms) +
           "\nnet_ticktime = " + std::to_string(ticktime) + "\nmetrics_address = \"" +
           std::to_string(http_port) + "\"\n";
  };
  file.write(config("info", 60000, 60));
  Process c({c_node_binary(), "--config", file.path.string(), "--cookie", kCookie});
  ASSERT_TRUE(wait_listening(port, 10s)) << c.output();
  ASSERT_TRUE(c.wait_output("metrics at", 5s)) << c.output();
  auto polls = [&] { return metric(get(http_port, "/metrics").body, "convoy_dns_polls_total"); };
  ASSERT_TRUE(eventually([&] { return polls() == 1; }, 5s)) << c.output();
  // An accepted connection is a debug line: none at info.
  { RawPeer probe(port); }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(count_of(c.output(), "accepted a connection from"), 0u) << c.output();
  EXPECT_EQ(polls(), 1);  // one poll a minute

  file.write(config("debug", 100, 30));
  c.signal(SIGHUP);
  ASSERT_TRUE(c.wait_output("SIGHUP: applied log_level: info -> debug", 5s)) << c.output();
  EXPECT_TRUE(c.wait_output("SIGHUP: applied poll_interval: 60000 -> 100", 1s)) << c.output();
  EXPECT_TRUE(c.wait_output("SIGHUP: net_ticktime: 60 -> 30 needs a restart", 1s)) << c.output();
  EXPECT_TRUE(eventually([&] { return polls() >= 10; }, 10s)) << polls();
  { RawPeer probe(port); }
  EXPECT_TRUE(c.wait_output("accepted a connection from", 5s)) << c.output();

  // A broken file changes nothing and says so; the node keeps running and polling.
  file.write("log_level = 7\n");
  c.signal(SIGHUP);
  EXPECT_TRUE(c.wait_output("SIGHUP: configuration not reloaded, nothing changed", 5s))
      << c.output();
  EXPECT_TRUE(c.running());
  const double n = polls();
  EXPECT_TRUE(eventually([&] { return polls() > n; }, 5s));
}

}  // namespace
}  // namespace convoy::test
