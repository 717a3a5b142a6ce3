#pragma once
// Timers of the event loop: ordered by deadline, cancellable by id.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

namespace convoy {

template <class Task>
class TimerQueue {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  std::uint64_t add(time_point when, Task task) {
    const auto id = ++last_id_;
    by_time_.emplace(std::make_pair(when, id), std::move(task));
    when_.emplace(id, when);
    return id;
  }
  void cancel(std::uint64_t id) {
    const auto it = when_.find(id);
    if (it == when_.end()) return;
    by_time_.erase({it->second, id});
    when_.erase(it);
  }
  std::optional<time_point> next() const {
    if (by_time_.empty()) return std::nullopt;
    return by_time_.begin()->first.first;
  }
  // Removes and returns one task due at `now`, if any.
  std::optional<Task> pop_due(time_point now) {
    if (by_time_.empty() || by_time_.begin()->first.first > now) return std::nullopt;
    auto node = by_time_.extract(by_time_.begin());
    when_.erase(node.key().second);
    return std::move(node.mapped());
  }
  std::size_t size() const { return when_.size(); }

 private:
  std::map<std::pair<time_point, std::uint64_t>, Task> by_time_;
  std::unordered_map<std::uint64_t, time_point> when_;
  std::uint64_t last_id_ = 0;
};

}  // namespace convoy
