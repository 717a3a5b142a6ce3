// The c_node's monitoring parts without a network: the health verdict, the metrics text,
// the metrics address, and what a SIGHUP reload applies.
#include <gtest/gtest.h>

#include "config.hpp"
#include "health.hpp"
#include "metrics.hpp"

namespace convoy {
namespace {

using namespace std::chrono_literals;

const Clock::time_point t0 = Clock::time_point{} + 1000s;

HealthFacts facts(bool accepting, std::size_t peers, std::optional<DiscoveryStats> d = {}) {
  HealthFacts f;
  f.node = "c-1@h";
  f.accepting = accepting;
  f.peers = peers;
  f.discovery = std::move(d);
  f.now = t0;
  return f;
}

TEST(Health, OkWithoutDiscoveryWhileAccepting) {
  const auto h = assess_health(facts(true, 2), 3);
  EXPECT_TRUE(h.ok);
  EXPECT_EQ(h.reason, "c-1@h is up with 2 peer(s)");
  const auto paused = assess_health(facts(false, 0), 3);
  EXPECT_FALSE(paused.ok);
  EXPECT_NE(paused.reason.find("not accepting connections"), std::string::npos);
}

TEST(Health, DnsFailuresTurnItUnhealthyAtTheThreshold) {
  DiscoveryStats d;
  d.polls = 5;
  d.failures = 2;
  d.consecutive_failures = 2;
  d.last_success = t0 - 3s;
  d.started = t0 - 60s;
  d.last_error = "timed out";
  d.known_peers = 4;
  HealthFacts f = facts(true, 4, d);
  auto h = assess_health(f, 3);
  EXPECT_TRUE(h.ok) << h.reason;
  EXPECT_EQ(h.reason, "c-1@h is up with 4 peer(s); DNS answered 3.0 s ago with 4 peer(s)");
  f.discovery->consecutive_failures = 3;
  h = assess_health(f, 3);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.reason, "DNS discovery failed the last 3 polls: timed out");
  // Before the first answer: healthy, and says so.
  f.discovery = DiscoveryStats{};
  f.discovery->started = t0;
  h = assess_health(f, 3);
  EXPECT_TRUE(h.ok);
  EXPECT_NE(h.reason.find("DNS has not answered yet"), std::string::npos);
}

TEST(Metrics, TextCarriesEveryFamilyWithItsValues) {
  MetricsSnapshot s;
  s.node = "c-1@h";
  s.now = t0;
  s.stats.peers_connected = 3;
  s.stats.links_up = 5;
  s.stats.links_down = {{"closed", 1}, {"timeout", 1}};
  s.stats.handshakes_refused = {{"bad_cookie", 7}};
  s.stats.messages_in = 42;
  s.stats.bytes_out = 1234;
  s.stats.link_read_pauses = 2;
  const auto text = metrics_text(s);
  for (const char* line :
       {"convoy_peers_connected 3\n", "convoy_links_up_total 5\n",
        "convoy_links_down_total{reason=\"closed\"} 1\n",
        "convoy_links_down_total{reason=\"timeout\"} 1\n",
        "convoy_handshakes_refused_total{reason=\"bad_cookie\"} 7\n",
        "convoy_messages_received_total 42\n", "convoy_sent_bytes_total 1234\n",
        "convoy_read_pauses_total{scope=\"link\"} 2\n", "# TYPE convoy_links_up_total counter\n",
        "# TYPE convoy_peers_connected gauge\n", "convoy_info{node=\"c-1@h\",version=\""}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  EXPECT_EQ(text.find("convoy_dns_"), std::string::npos);  // discovery off: no DNS families

  s.discovery = DiscoveryStats{};
  s.discovery->polls = 9;
  s.discovery->failures = 4;
  s.discovery->consecutive_failures = 4;
  s.discovery->started = t0 - 30s;
  const auto with_dns = metrics_text(s);
  EXPECT_NE(with_dns.find("convoy_dns_polls_total 9\n"), std::string::npos) << with_dns;
  EXPECT_NE(with_dns.find("convoy_dns_poll_failures_total 4\n"), std::string::npos);
  // Never succeeded: the age counts from the start.
  EXPECT_NE(with_dns.find("convoy_dns_last_success_age_seconds 30\n"), std::string::npos)
      << with_dns;
}

TEST(MetricsAddress, PortAloneIsLoopbackAndMistakesAreClear) {
  auto endpoint = [](const std::string& text) {
    Config c;
    c.metrics_address = text;
    return metrics_endpoint(c);
  };
  auto off = endpoint("");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->has_value());
  auto bare = endpoint("9568");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ((*bare)->ip, "127.0.0.1");
  EXPECT_EQ((*bare)->port, 9568);
  auto any = endpoint("0.0.0.0:9100");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ((*any)->ip, "0.0.0.0");
  auto v6 = endpoint("[::1]:9100");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ((*v6)->ip, "::1");
  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {"localhost:9100", "'localhost' is not an IPv4 address"},
           {"127.0.0.1:", "'' is not a port"},
           {"127.0.0.1:99999", "the port must be 1..65535"},
           {"127.0.0.1:0", "the port must be 1..65535"},
           {"[zz]:1", "'zz' is not an IPv6 address"},
           {"+80", "'+80' is not a port"}}) {
    auto r = endpoint(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("metrics_address '" + text + "'"), std::string::npos);
  }
}

TEST(Reload, RuntimeKeysApplyAndTheRestNeedARestart) {
  Config running;
  running.name = "c-1@h";
  running.cookie = "secret";
  running.consul_service = "svc";
  running.node_sname = "app";
  Config reread = running;
  reread.log_level = "debug";
  reread.poll_interval = 100;
  reread.prune_after = 2;
  reread.nameservers = {"127.0.0.1:53"};
  reread.net_ticktime = 30;
  reread.cookie = "other";
  const auto changes = diff_for_reload(running, reread);
  EXPECT_EQ(changes.applied, (std::vector<std::string>{
                                 "log_level: info -> debug", "nameservers: [] -> [127.0.0.1:53]",
                                 "poll_interval: 5000 -> 100", "prune_after: 0 -> 2"}));
  EXPECT_EQ(changes.restart,
            (std::vector<std::string>{"net_ticktime: 60 -> 30", "cookie: (changed, hidden)"}));
  EXPECT_EQ(changes.next.log_level, "debug");
  EXPECT_EQ(changes.next.poll_interval, 100);
  EXPECT_EQ(changes.next.net_ticktime, 60);  // kept until a restart
  EXPECT_EQ(changes.next.cookie, "secret");
  for (const auto& line : changes.restart) EXPECT_EQ(line.find("other"), std::string::npos);

  const auto none = diff_for_reload(running, running);
  EXPECT_TRUE(none.applied.empty());
  EXPECT_TRUE(none.restart.empty());
}

TEST(Reload, ConfigValuesMaskTheCookie) {
  Config c;
  c.cookie = "secret";
  for (const auto& [key, value] : config_values(c)) {
    EXPECT_EQ(value.find("secret"), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace convoy
