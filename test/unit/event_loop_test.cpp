// EventLoop alone: posted tasks from other threads, timers on its clock, signals that stop
// it, and the descriptors it hands the poller.
#include "node/event_loop.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace convoy::node {
namespace {

using namespace std::chrono_literals;

class ManualClock : public Clock {
 public:
  time_point now() const override { return now_; }
  time_point now_{std::chrono::seconds(50)};
};

// Polls the loop's own descriptors once, as the node does each turn.
bool poll_once(EventLoop& loop, int timeout_ms) {
  std::vector<pollfd> fds;
  loop.add_fds(fds);
  const int n = ::poll(fds.data(), fds.size(), timeout_ms);
  loop.handle(fds);
  return n > 0;
}

TEST(EventLoop, APostFromAnotherThreadWakesThePollAndRunsOnce) {
  ManualClock clock;
  auto loop = EventLoop::create(clock).value();
  int runs = 0;
  std::thread t([&] { loop->post([&] { ++runs; }); });
  t.join();
  EXPECT_TRUE(loop->has_posted());
  EXPECT_TRUE(poll_once(*loop, 1000));
  EXPECT_TRUE(loop->run_posted());
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(loop->run_posted());
  EXPECT_FALSE(poll_once(*loop, 0));  // the wake-up was drained
}

TEST(EventLoop, TimersRunWhenTheirClockSaysSoAndCanBeCancelled) {
  ManualClock clock;
  auto loop = EventLoop::create(clock).value();
  std::vector<int> ran;
  loop->after(clock.now_ + 10ms, [&] { ran.push_back(1); });
  const auto id = loop->after(clock.now_ + 20ms, [&] { ran.push_back(2); });
  loop->after(clock.now_ + 30ms, [&] { ran.push_back(3); });
  loop->cancel(id);
  EXPECT_FALSE(loop->run_due_timers());
  clock.now_ += 30ms;
  EXPECT_TRUE(loop->run_due_timers());
  EXPECT_EQ(ran, (std::vector<int>{1, 3}));
  EXPECT_FALSE(loop->next_timer().has_value());
}

TEST(EventLoop, ATimerThatReArmsItselfCannotKeepTheTurnForever) {
  ManualClock clock;
  auto loop = EventLoop::create(clock).value();
  int runs = 0;
  std::function<void()> again = [&] {
    ++runs;
    loop->after(clock.now_, again);
  };
  loop->after(clock.now_, again);
  EXPECT_TRUE(loop->run_due_timers());
  EXPECT_EQ(runs, 1024);
}

// A throwing task is a bug in that task, not a reason to lose the others (or the node).
TEST(EventLoop, ATaskOrTimerThatThrowsIsLoggedAndTheRestStillRun) {
  ManualClock clock;
  auto loop = EventLoop::create(clock).value();
  std::vector<int> ran;
  loop->post([] { throw std::runtime_error("posted task failed"); });
  loop->post([&] { ran.push_back(1); });
  loop->after(clock.now_, [] { throw 42; });
  loop->after(clock.now_, [&] { ran.push_back(2); });
  EXPECT_TRUE(loop->run_posted());
  EXPECT_TRUE(loop->run_due_timers());
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
}

TEST(EventLoop, RequestStopIsSeenAndCleared) {
  ManualClock clock;
  auto loop = EventLoop::create(clock).value();
  EXPECT_FALSE(loop->stop_requested());
  loop->request_stop();
  EXPECT_TRUE(loop->stop_requested());
  EXPECT_TRUE(poll_once(*loop, 0));
  loop->clear_stop();
  EXPECT_FALSE(loop->stop_requested());
}

TEST(EventLoop, ABlockedSignalStopsTheLoopThroughItsDescriptor) {
  ManualClock clock;
  auto loop = EventLoop::create(clock).value();
  // On a thread of its own: the signal mask changes only there.
  std::thread t([&] {
    ASSERT_TRUE(loop->stop_on_signals({SIGUSR2}).ok());
    ::pthread_kill(::pthread_self(), SIGUSR2);
    EXPECT_TRUE(poll_once(*loop, 1000));
  });
  t.join();
  EXPECT_TRUE(loop->stop_requested());
}

TEST(EventLoop, SignalHandlersRunOnTheLoopBesideTheStoppingOnes) {
  ManualClock clock;
  auto loop = EventLoop::create(clock).value();
  std::vector<int> seen;
  std::thread t([&] {
    ASSERT_TRUE(loop->stop_on_signals({SIGUSR2}).ok());
    ASSERT_TRUE(loop->on_signals({SIGUSR1, SIGHUP}, [&](int s) { seen.push_back(s); }).ok());
    ::pthread_kill(::pthread_self(), SIGUSR1);
    ::pthread_kill(::pthread_self(), SIGHUP);
    EXPECT_TRUE(poll_once(*loop, 1000));
    EXPECT_FALSE(loop->stop_requested());
    ::pthread_kill(::pthread_self(), SIGUSR2);
    EXPECT_TRUE(poll_once(*loop, 1000));
  });
  t.join();
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{SIGHUP, SIGUSR1}));
  EXPECT_TRUE(loop->stop_requested());
}

}  // namespace
}  // namespace convoy::node
