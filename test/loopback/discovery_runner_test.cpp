// Discovery's runner against a GoogleMock resolver and two in-process nodes on a local
// transport: the first lookup happens at start, lookups repeat every poll_interval, peers
// found are joined, and a resolver that starts failing leaves the links alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "convoy/discovery.hpp"
#include "harness.hpp"

namespace convoy::test {
namespace {

using testing::_;
using testing::Invoke;

class MockResolver : public SrvResolver {
 public:
  MOCK_METHOD(Result<SrvAnswer>, resolve, (const std::string& name), (override));
};

TEST(DiscoveryRunner, PollsAtStartThenEveryIntervalAndJoinsWhatItFinds) {
  auto transport = local_transport();
  auto a = local_node(transport, "seeker");
  auto b = local_node(transport, "app");
  auto resolver = std::make_unique<MockResolver>();
  std::atomic<int> calls{0};
  std::atomic<bool> failing{false};
  const auto started = std::chrono::steady_clock::now();
  std::atomic<long long> first_call_ms{-1};
  EXPECT_CALL(*resolver, resolve("app.service.consul"))
      .WillRepeatedly(Invoke([&](const std::string&) -> Result<SrvAnswer> {
        if (calls++ == 0) {
          first_call_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
        }
        if (failing) return make_error(Errc::dns_error, "SERVFAIL (scripted)");
        return SrvAnswer{{{1, 1, b->name().port(), "127.0.0.1"}}, {}, false};
      }));
  DnsSrvOptions o;
  o.consul_service = "app";
  o.node_sname = "app";
  o.poll_interval = std::chrono::milliseconds(100);
  auto d = Discovery::start(*a, o, std::move(resolver));
  ASSERT_TRUE(d.ok()) << d.error().message;

  // b must run its loop too to complete the handshake: drive both alternately.
  auto drive = [&](const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      a->run_until([] { return false; }, std::chrono::milliseconds(5));
      b->run_until([] { return false; }, std::chrono::milliseconds(5));
    }
    return done();
  };
  ASSERT_TRUE(drive([&] { return a->is_connected(b->name().str()); }, std::chrono::seconds(5)));
  EXPECT_GE(first_call_ms.load(), 0);
  EXPECT_LT(first_call_ms.load(), 1000);  // at start, not after a first interval of waiting

  // Lookups keep coming while the loop runs; then the DNS fails and nothing is dropped.
  const int before = calls;
  failing = true;
  drive([] { return false; }, std::chrono::milliseconds(1000));
  EXPECT_GE(calls - before, 3);   // ~10 at 100 ms; bounded loosely for a loaded machine
  EXPECT_LE(calls - before, 30);  // and not a busy loop
  EXPECT_TRUE(a->is_connected(b->name().str()));
  d->reset();
}

// What /metrics and /health read, and what SIGHUP changes.
TEST(DiscoveryRunner, CountsPollsAndFailuresAndTakesANewPaceAtOnce) {
  auto transport = local_transport();
  auto a = local_node(transport, "seeker");
  auto resolver = std::make_unique<MockResolver>();
  std::atomic<int> calls{0};
  std::atomic<bool> failing{false};
  EXPECT_CALL(*resolver, resolve("app.service.consul"))
      .WillRepeatedly(Invoke([&](const std::string&) -> Result<SrvAnswer> {
        ++calls;
        if (failing) return make_error(Errc::dns_error, "SERVFAIL (scripted)");
        return SrvAnswer{{{1, 1, 4999, "127.0.0.1"}}, {}, false};
      }));
  DnsSrvOptions o;
  o.consul_service = "app";
  o.node_sname = "app";
  o.poll_interval = std::chrono::milliseconds(60000);
  auto d = Discovery::start(*a, o, std::move(resolver));
  ASSERT_TRUE(d.ok()) << d.error().message;
  Discovery& disc = **d;
  ASSERT_TRUE(pump(
      *a, [&] { return disc.stats().polls == 1; }, std::chrono::seconds(5)));
  EXPECT_EQ(disc.stats().failures, 0u);
  EXPECT_TRUE(disc.stats().last_success.has_value());
  EXPECT_EQ(disc.stats().known_peers, 1u);
  pump(
      *a, [] { return false; }, std::chrono::milliseconds(300));
  EXPECT_EQ(calls.load(), 1);  // a minute's pace

  // What names the peers cannot change; nothing else changes with it.
  DnsSrvOptions other = o;
  other.consul_service = "web";
  other.poll_interval = std::chrono::milliseconds(50);
  auto refused = disc.reconfigure(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("consul_service cannot change"), std::string::npos);
  EXPECT_EQ(disc.options().poll_interval, std::chrono::milliseconds(60000));

  failing = true;
  DnsSrvOptions faster = o;
  faster.poll_interval = std::chrono::milliseconds(50);
  faster.prune_after = 2;
  ASSERT_TRUE(disc.reconfigure(faster).ok());
  EXPECT_EQ(disc.options().prune_after, 2);
  ASSERT_TRUE(pump(
      *a, [&] { return disc.stats().consecutive_failures >= 3; }, std::chrono::seconds(5)));
  const auto s = disc.stats();
  EXPECT_GE(s.failures, 3u);
  EXPECT_EQ(s.polls, s.failures + 1);
  EXPECT_EQ(s.last_error, "SERVFAIL (scripted)");
  EXPECT_EQ(s.known_peers, 1u);  // failures change nothing
  d->reset();
}

}  // namespace
}  // namespace convoy::test
