// DnsSrvStrategy: Caravan's naming and connect rules, and what we do beyond them, against
// scripted resolver answers and a hand-driven clock. No network.
#include "convoy/discovery.hpp"

#include <gtest/gtest.h>

#include <set>

namespace convoy {
namespace {

using namespace std::chrono_literals;
using time_point = DnsSrvStrategy::time_point;

SrvRecord srv(std::uint16_t port, std::string target) { return {1, 1, port, std::move(target)}; }

Result<SrvAnswer> answer(std::vector<SrvRecord> records, std::vector<AddressRecord> extra = {}) {
  return SrvAnswer{std::move(records), std::move(extra), false};
}

Result<SrvAnswer> failure() { return make_error(Errc::dns_error, "SERVFAIL from 127.0.0.1:53"); }

std::vector<std::string> names(const std::vector<NodeName>& v) {
  std::vector<std::string> out;
  for (const auto& n : v) out.push_back(n.str());
  std::sort(out.begin(), out.end());
  return out;
}

class Strategy : public testing::Test {
 protected:
  Strategy() : strategy_(options(), *NodeName::parse("app-4000@self.host"), 42) {}

  static DnsSrvOptions options(int prune_after = 0, HostFrom host_from = HostFrom::target) {
    DnsSrvOptions o;
    o.consul_service = "app";
    o.node_sname = "app";
    o.prune_after = prune_after;
    o.host_from = host_from;
    o.backoff_initial = 1000ms;
    o.backoff_max = 8000ms;
    return o;
  }

  DnsSrvStrategy::IsConnected connected() {
    return [this](const std::string& n) { return connected_.contains(n); };
  }

  DnsSrvStrategy strategy_;
  std::set<std::string> connected_;
  time_point now_{};
};

TEST(DnsSrvOptions, BareServiceMeansConsulServiceName) {
  DnsSrvOptions o;
  o.consul_service = "app";
  EXPECT_EQ(o.query_name(), "app.service.consul");
  o.consul_service = "app.service.dc2.consul";
  EXPECT_EQ(o.query_name(), "app.service.dc2.consul");
}

TEST(DnsSrvOptions, ValidationNamesTheProblem) {
  DnsSrvOptions o;
  EXPECT_FALSE(o.validate().ok());
  o.consul_service = "app";
  EXPECT_NE(o.validate().error().message.find("node_sname"), std::string::npos);
  o.node_sname = "bad name";
  EXPECT_NE(o.validate().error().message.find("bad name"), std::string::npos);
  o.node_sname = "app";
  EXPECT_TRUE(o.validate().ok());
  o.poll_interval = 0ms;
  EXPECT_FALSE(o.validate().ok());
}

TEST_F(Strategy, NamesPeersLikeCaravanAndSkipsItself) {
  auto plan = strategy_.on_answer(
      answer({srv(4001, "a.node.dc1.consul"), srv(4000, "self.host"), srv(4002, "10.0.0.3")}),
      connected(), now_);
  EXPECT_EQ(names(plan.connect),
            (std::vector<std::string>{"app-4001@a.node.dc1.consul", "app-4002@10.0.0.3"}));
  EXPECT_EQ(strategy_.known_peers().size(), 2u);
}

TEST_F(Strategy, AlreadyConnectedAndInFlightPeersAreNotDialledAgain) {
  connected_.insert("app-4001@a");
  auto plan = strategy_.on_answer(answer({srv(4001, "a"), srv(4002, "b")}), connected(), now_);
  EXPECT_EQ(names(plan.connect), (std::vector<std::string>{"app-4002@b"}));
  // b's dial has not finished: the next poll must not start a second one.
  plan = strategy_.on_answer(answer({srv(4001, "a"), srv(4002, "b")}), connected(), now_ + 1s);
  EXPECT_TRUE(plan.connect.empty());
  strategy_.on_connected("app-4002@b");
  connected_.insert("app-4002@b");
  plan = strategy_.on_answer(answer({srv(4001, "a"), srv(4002, "b")}), connected(), now_ + 2s);
  EXPECT_TRUE(plan.connect.empty());
}

TEST_F(Strategy, DnsFailureKeepsEverythingAndIsLoggedOncePerOutage) {
  connected_ = {"app-4001@a"};
  strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_);
  strategy_.on_connected("app-4001@a");
  auto first = strategy_.on_answer(failure(), connected(), now_ + 1s);
  EXPECT_TRUE(first.disconnect.empty());
  EXPECT_TRUE(first.connect.empty());
  ASSERT_EQ(first.log_warn.size(), 1u);
  EXPECT_NE(first.log_warn[0].find("SERVFAIL"), std::string::npos);
  for (int i = 2; i < 10; ++i) {
    auto again = strategy_.on_answer(failure(), connected(), now_ + std::chrono::seconds(i));
    EXPECT_TRUE(again.log_warn.empty());
    EXPECT_TRUE(again.disconnect.empty());
  }
  EXPECT_TRUE(strategy_.in_outage());
  auto back = strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_ + 20s);
  EXPECT_FALSE(strategy_.in_outage());
  EXPECT_EQ(back.log_info.size(), 1u);
  EXPECT_EQ(strategy_.known_peers(), (std::vector<std::string>{"app-4001@a"}));
}

TEST_F(Strategy, WithoutPruneAnAbsentPeersLinkIsKept) {
  strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_);
  strategy_.on_connected("app-4001@a");
  connected_.insert("app-4001@a");
  for (int i = 1; i <= 10; ++i) {
    auto plan = strategy_.on_answer(answer({}), connected(), now_ + std::chrono::seconds(i));
    EXPECT_TRUE(plan.disconnect.empty());
  }
  // Still linked, but no longer part of the membership DNS describes.
  EXPECT_TRUE(strategy_.known_peers().empty());
}

TEST_F(Strategy, APeerAbsentFromASuccessfulAnswerIsNoLongerDialled) {
  strategy_.on_answer(answer({srv(4001, "a"), srv(4002, "b")}), connected(), now_);
  strategy_.on_connect_failed("app-4001@a", now_ + 1s);
  strategy_.on_connect_failed("app-4002@b", now_ + 1s);
  // a's record is gone (its node died, or was redeployed on another port): neither the next
  // poll nor the backoff dials it again; b is still listed and still retried.
  auto plan = strategy_.on_answer(answer({srv(4002, "b")}), connected(), now_ + 2s);
  EXPECT_EQ(names(plan.connect), (std::vector<std::string>{"app-4002@b"}));
  ASSERT_EQ(plan.log_info.size(), 1u);
  EXPECT_NE(plan.log_info[0].find("app-4001@a"), std::string::npos);
  EXPECT_EQ(strategy_.known_peers(), (std::vector<std::string>{"app-4002@b"}));
  strategy_.on_connect_failed("app-4002@b", now_ + 3s);
  EXPECT_EQ(names(strategy_.due(connected(), now_ + 1h)), (std::vector<std::string>{"app-4002@b"}));
  for (int i = 4; i < 20; ++i) {
    plan = strategy_.on_answer(answer({}), connected(), now_ + std::chrono::seconds(i));
    EXPECT_TRUE(plan.connect.empty()) << i;
  }
  EXPECT_TRUE(strategy_.due(connected(), now_ + 2h).empty());
  EXPECT_FALSE(strategy_.next_due().has_value());
}

TEST_F(Strategy, AnUnlistedPeerWhoseLinkDropsIsNotRedialled) {
  strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_);
  strategy_.on_connected("app-4001@a");
  connected_.insert("app-4001@a");
  strategy_.on_answer(answer({}), connected(), now_ + 1s);
  connected_.clear();
  strategy_.on_link_down("app-4001@a", now_ + 2s);
  EXPECT_FALSE(strategy_.next_due().has_value());
  EXPECT_TRUE(strategy_.due(connected(), now_ + 1h).empty());
  EXPECT_TRUE(strategy_.on_answer(answer({}), connected(), now_ + 3s).connect.empty());
}

TEST_F(Strategy, APeerBackInDnsIsDialledAtTheNextPollNotAfterAStaleBackoff) {
  strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_);
  for (int i = 0; i < 6; ++i) strategy_.on_connect_failed("app-4001@a", now_);  // 8 s backoff
  strategy_.on_answer(answer({}), connected(), now_ + 1s);
  auto plan = strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_ + 2s);
  EXPECT_EQ(names(plan.connect), (std::vector<std::string>{"app-4001@a"}));
}

TEST_F(Strategy, AFailedLookupNeverUnlistsAPeer) {
  strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_);
  strategy_.on_connect_failed("app-4001@a", now_);
  for (int i = 1; i < 5; ++i)
    strategy_.on_answer(failure(), connected(), now_ + std::chrono::seconds(i));
  EXPECT_EQ(names(strategy_.due(connected(), now_ + 1h)), (std::vector<std::string>{"app-4001@a"}));
}

TEST_F(Strategy, PruneDropsAPeerAfterNConsecutiveAnswersWithoutIt) {
  DnsSrvStrategy s(options(3), *NodeName::parse("app-4000@self"), 1);
  s.on_answer(answer({srv(4001, "a"), srv(4002, "b")}), connected(), now_);
  connected_ = {"app-4001@a", "app-4002@b"};
  EXPECT_TRUE(s.on_answer(answer({srv(4002, "b")}), connected(), now_ + 1s).disconnect.empty());
  // Absent but linked: kept until pruned, and not redialled if its link drops meanwhile.
  EXPECT_EQ(s.known_peers(), (std::vector<std::string>{"app-4002@b"}));
  // A DNS failure in between neither counts nor resets.
  EXPECT_TRUE(s.on_answer(failure(), connected(), now_ + 2s).disconnect.empty());
  EXPECT_TRUE(s.on_answer(answer({srv(4002, "b")}), connected(), now_ + 3s).disconnect.empty());
  auto plan = s.on_answer(answer({srv(4002, "b")}), connected(), now_ + 4s);
  EXPECT_EQ(plan.disconnect, (std::vector<std::string>{"app-4001@a"}));
  EXPECT_EQ(s.known_peers(), (std::vector<std::string>{"app-4002@b"}));
}

TEST_F(Strategy, ReappearingPeerResetsItsPruneCount) {
  DnsSrvStrategy s(options(2), *NodeName::parse("app-4000@self"), 1);
  connected_ = {"app-4001@a"};
  s.on_answer(answer({srv(4001, "a")}), connected(), now_);
  s.on_answer(answer({}), connected(), now_ + 1s);
  s.on_answer(answer({srv(4001, "a")}), connected(), now_ + 2s);
  EXPECT_EQ(s.known_peers().size(), 1u);
  EXPECT_TRUE(s.on_answer(answer({}), connected(), now_ + 3s).disconnect.empty());  // 1 of 2
  EXPECT_EQ(s.on_answer(answer({}), connected(), now_ + 4s).disconnect,
            (std::vector<std::string>{"app-4001@a"}));
}

TEST_F(Strategy, BackoffIsExponentialCappedAndJittered) {
  // d = min(max, initial * 2^(n-1)); the delay lies in [d/2, d].
  const long long expected[] = {1000, 2000, 4000, 8000, 8000, 8000};
  for (int n = 1; n <= 6; ++n) {
    for (int i = 0; i < 50; ++i) {
      const auto b = strategy_.backoff(n).count();
      EXPECT_GE(b, expected[n - 1] / 2) << n;
      EXPECT_LE(b, expected[n - 1]) << n;
    }
  }
  // Jitter really varies.
  std::set<long long> seen;
  for (int i = 0; i < 20; ++i) seen.insert(strategy_.backoff(3).count());
  EXPECT_GT(seen.size(), 5u);
}

TEST_F(Strategy, FailedDialsBackOffUntilDue) {
  strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_);
  strategy_.on_connect_failed("app-4001@a", now_);
  const auto due_at = strategy_.next_due();
  ASSERT_TRUE(due_at.has_value());
  EXPECT_GE(*due_at - now_, 500ms);
  EXPECT_LE(*due_at - now_, 1000ms);
  // Neither a poll nor due() dials before then.
  EXPECT_TRUE(
      strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_ + 400ms).connect.empty());
  EXPECT_TRUE(strategy_.due(connected(), now_ + 400ms).empty());
  EXPECT_EQ(names(strategy_.due(connected(), *due_at)), (std::vector<std::string>{"app-4001@a"}));
  // A second failure doubles the window.
  strategy_.on_connect_failed("app-4001@a", *due_at);
  EXPECT_GE(*strategy_.next_due() - *due_at, 1000ms);
  EXPECT_LE(*strategy_.next_due() - *due_at, 2000ms);
}

TEST_F(Strategy, LostLinkIsRedialledAfterBackoff) {
  strategy_.on_answer(answer({srv(4001, "a")}), connected(), now_);
  strategy_.on_connected("app-4001@a");
  strategy_.on_link_down("app-4001@a", now_ + 5s);
  const auto due_at = strategy_.next_due();
  ASSERT_TRUE(due_at.has_value());
  EXPECT_LE(*due_at - (now_ + 5s), 1000ms);
  EXPECT_EQ(names(strategy_.due(connected(), *due_at)), (std::vector<std::string>{"app-4001@a"}));
  strategy_.on_connected("app-4001@a");
  EXPECT_FALSE(strategy_.next_due().has_value());
}

TEST_F(Strategy, BadRecordsAreReportedAndSkipped) {
  auto plan = strategy_.on_answer(answer({srv(0, "a"), srv(4001, "bad host!"), srv(4002, "b")}),
                                  connected(), now_);
  EXPECT_EQ(names(plan.connect), (std::vector<std::string>{"app-4002@b"}));
  EXPECT_EQ(plan.log_warn.size(), 2u);
  // The same bad records on the next poll are not reported again.
  plan = strategy_.on_answer(answer({srv(0, "a"), srv(4001, "bad host!"), srv(4002, "b")}),
                             connected(), now_ + 1s);
  EXPECT_TRUE(plan.log_warn.empty());
}

TEST_F(Strategy, HostFromAddressUsesAdditionalRecordsAndConsulAddrTargets) {
  DnsSrvStrategy s(options(0, HostFrom::address), *NodeName::parse("app-4000@self"), 1);
  auto plan =
      s.on_answer(answer({srv(4001, "web1.node.dc1.consul"), srv(4002, "0a000105.addr.dc1.consul"),
                          srv(4003, "fd000000000000000000000000000001.addr.dc1.consul"),
                          srv(4004, "noaddr.node.dc1.consul")},
                         {{"web1.node.dc1.consul", "10.0.0.9"}}),
                  connected(), now_);
  EXPECT_EQ(names(plan.connect), (std::vector<std::string>{"app-4001@10.0.0.9", "app-4002@10.0.1.5",
                                                           "app-4003@fd00:0:0:0:0:0:0:1"}));
  ASSERT_EQ(plan.log_warn.size(), 1u);
  EXPECT_NE(plan.log_warn[0].find("noaddr"), std::string::npos);
}

TEST_F(Strategy, ZeroRecordsIsAnAnswerNotAnError) {
  auto plan = strategy_.on_answer(answer({}), connected(), now_);
  EXPECT_TRUE(plan.connect.empty());
  EXPECT_TRUE(plan.log_warn.empty());
  EXPECT_FALSE(strategy_.in_outage());
}

}  // namespace
}  // namespace convoy
