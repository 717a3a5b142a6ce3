// HostResolver with a scripted blocking lookup: answers come back on the loop, one lookup
// per host however many ask, a bound on hosts in flight, and a resolver destroyed while a
// lookup is stuck does not wait for it.
#include "node/host_resolver.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace convoy::node {
namespace {

using namespace std::chrono_literals;

class SteadyClock : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

// A lookup that blocks until released (or 5 s, so a failing test cannot hang).
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> calls{0};
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
  HostResolver::Lookup lookup() {
    return [this](const std::string& host) -> Result<std::string> {
      ++calls;
      std::unique_lock lock(mutex);
      cv.wait_for(lock, 5s, [&] { return open; });
      if (host == "nx.invalid") return make_error(Errc::io_error, "no such host");
      return std::string("10.0.0.") + std::to_string(host.size());
    };
  }
};

// Runs the loop's posted tasks until `done` or 5 s.
bool drain_until(EventLoop& loop, const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < until) {
    std::vector<pollfd> fds;
    loop.add_fds(fds);
    ::poll(fds.data(), fds.size(), 20);
    loop.handle(fds);
    loop.run_posted();
  }
  return done();
}

TEST(HostResolver, AnswersArriveOnTheLoopAndOneLookupServesEveryWaiter) {
  SteadyClock clock;
  auto loop = EventLoop::create(clock).value();
  Gate gate;
  HostResolver resolver(*loop, gate.lookup(), {});
  std::vector<Result<std::string>> got;
  for (int k = 0; k < 3; ++k)
    resolver.resolve("abcd", [&](Result<std::string> r) { got.push_back(r); });
  resolver.resolve("nx.invalid", [&](Result<std::string> r) { got.push_back(r); });
  EXPECT_TRUE(got.empty());  // never within resolve()
  EXPECT_EQ(resolver.in_flight(), 2u);
  gate.release();
  ASSERT_TRUE(drain_until(*loop, [&] { return got.size() == 4; }));
  EXPECT_EQ(gate.calls.load(), 2);
  int ok = 0;
  for (const auto& r : got) {
    if (r) {
      EXPECT_EQ(*r, "10.0.0.4");
      ++ok;
    } else {
      EXPECT_EQ(r.error().message, "no such host");
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(resolver.in_flight(), 0u);
}

TEST(HostResolver, HostsInFlightAreBoundedAndTheExtraOnesFailAtOnce) {
  SteadyClock clock;
  auto loop = EventLoop::create(clock).value();
  Gate gate;
  HostResolver resolver(*loop, gate.lookup(), {.max_threads = 2, .max_hosts = 3});
  std::vector<Result<std::string>> got;
  for (int k = 0; k < 5; ++k) {
    resolver.resolve("host" + std::to_string(k), [&](Result<std::string> r) { got.push_back(r); });
  }
  ASSERT_TRUE(drain_until(*loop, [&] { return got.size() == 2; }));
  for (const auto& r : got) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, make_error_code(Errc::limit_exceeded));
  }
  gate.release();
  ASSERT_TRUE(drain_until(*loop, [&] { return got.size() == 5; }));
  EXPECT_LE(gate.calls.load(), 3);
}

TEST(HostResolver, DestroyingItWithALookupStuckDoesNotWaitAndDropsTheAnswer) {
  SteadyClock clock;
  auto loop = EventLoop::create(clock).value();
  auto gate = std::make_shared<Gate>();
  bool answered = false;
  const auto start = std::chrono::steady_clock::now();
  {
    HostResolver resolver(*loop, [gate](const std::string& h) { return gate->lookup()(h); }, {});
    resolver.resolve("stuck", [&](Result<std::string>) { answered = true; });
    while (gate->calls.load() == 0 && std::chrono::steady_clock::now() - start < 5s) {
      std::this_thread::sleep_for(1ms);
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  gate->release();
  drain_until(*loop, [] { return false; });  // 5 s: anything posted late would run here
  EXPECT_FALSE(answered);
}

}  // namespace
}  // namespace convoy::node
