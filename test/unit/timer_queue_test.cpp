#include "node/timer_queue.hpp"

#include <gtest/gtest.h>

namespace convoy {
namespace {

using namespace std::chrono_literals;
using Queue = TimerQueue<int>;

TEST(TimerQueue, PopsOnlyWhatIsDueInDeadlineThenInsertionOrder) {
  Queue q;
  const Queue::time_point t0{};
  q.add(t0 + 20ms, 2);
  q.add(t0 + 10ms, 1);
  q.add(t0 + 20ms, 3);
  EXPECT_EQ(q.next(), t0 + 10ms);
  EXPECT_FALSE(q.pop_due(t0 + 5ms).has_value());
  EXPECT_EQ(q.pop_due(t0 + 20ms), 1);
  EXPECT_EQ(q.pop_due(t0 + 20ms), 2);
  EXPECT_EQ(q.pop_due(t0 + 20ms), 3);
  EXPECT_FALSE(q.pop_due(t0 + 1h).has_value());
  EXPECT_FALSE(q.next().has_value());
}

TEST(TimerQueue, CancelRemovesOneTimerAndIgnoresUnknownIds) {
  Queue q;
  const Queue::time_point t0{};
  const auto a = q.add(t0 + 1ms, 1);
  q.add(t0 + 2ms, 2);
  q.cancel(a);
  q.cancel(a);
  q.cancel(9999);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.pop_due(t0 + 1h), 2);
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace convoy
