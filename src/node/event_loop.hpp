#pragma once
// EventLoop: the node's thread of control apart from its sockets — the wake-up eventfd,
// the optional signalfd, tasks posted from other threads and the timer queue. The node
// asks it for its descriptors each turn and polls them together with the links'.
#include <poll.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "convoy/clock.hpp"
#include "convoy/result.hpp"
#include "io/fd.hpp"
#include "node/timer_queue.hpp"

namespace convoy::node {

class EventLoop {
 public:
  using Task = std::function<void()>;

  static Result<std::unique_ptr<EventLoop>> create(const Clock& clock);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  const Clock& clock() const noexcept { return *clock_; }

  // Any thread: queue `task` for the loop thread and wake it.
  void post(Task task);
  // Any thread, and signal handlers: make the loop return from poll and stop.
  void request_stop() noexcept;
  bool stop_requested() const noexcept { return stop_.load(); }
  void clear_stop() noexcept { stop_ = false; }
  // Blocks `signals` for the calling thread; their arrival stops the loop.
  Status stop_on_signals(std::initializer_list<int> signals);
  // Blocks `signals` for the calling thread (and threads it starts later); each arrival
  // runs `handler` on the loop thread. A later call for the same signal replaces it.
  using SignalHandler = std::function<void(int signo)>;
  Status on_signals(std::initializer_list<int> signals, SignalHandler handler);

  std::uint64_t after(Clock::time_point when, Task task) {
    return timers_.add(when, std::move(task));
  }
  void cancel(std::uint64_t id) { timers_.cancel(id); }
  std::optional<Clock::time_point> next_timer() const { return timers_.next(); }

  // Runs what was posted before this call; true if anything ran. A task that throws is
  // logged and skipped (so are timers).
  bool run_posted();
  // Runs timers due now (bounded, so a timer that re-arms itself cannot starve the links).
  bool run_due_timers();
  bool has_posted();

  // Appends the loop's own descriptors; handle() reads the matching revents back.
  void add_fds(std::vector<pollfd>& fds) const;
  void handle(std::span<const pollfd> own);

 private:
  EventLoop(const Clock& clock, io::Fd wake) : clock_(&clock), wake_(std::move(wake)) {}
  void wake() noexcept;
  static void run_guarded(const Task& task, const char* what);

  const Clock* clock_;
  io::Fd wake_;
  io::Fd signals_;
  sigset_t handled_;
  bool signals_valid_ = false;
  std::map<int, SignalHandler> signal_handlers_;
  TimerQueue<Task> timers_;
  std::mutex posted_mutex_;
  std::vector<Task> posted_;
  std::atomic<bool> stop_{false};
};

}  // namespace convoy::node
