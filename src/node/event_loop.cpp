#include "node/event_loop.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstring>

#include "node/exception_reason.hpp"

namespace convoy::node {

Result<std::unique_ptr<EventLoop>> EventLoop::create(const Clock& clock) {
  io::Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) {
    return make_error(Errc::io_error, fmt::format("eventfd: {}", std::strerror(errno)));
  }
  return std::unique_ptr<EventLoop>(new EventLoop(clock, std::move(wake)));
}

void EventLoop::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_.get(), &one, sizeof one);
}

void EventLoop::post(Task task) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(task));
  }
  wake();
}

void EventLoop::request_stop() noexcept {
  stop_ = true;
  wake();
}

Status EventLoop::stop_on_signals(std::initializer_list<int> signals) {
  return on_signals(signals, [this](int signo) {
    spdlog::info("received signal {} ({}), stopping", signo, ::strsignal(signo));
    stop_ = true;
  });
}

Status EventLoop::on_signals(std::initializer_list<int> signals, SignalHandler handler) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  // Blocked first, so none is delivered the default way (most end the process) meanwhile.
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return make_error(Errc::io_error, "cannot block signals");
  }
  if (!signals_valid_) {
    sigemptyset(&handled_);
    signals_valid_ = true;
  }
  for (int s : signals) sigaddset(&handled_, s);
  // With an existing descriptor, signalfd() widens its mask and returns the same one.
  const int fd =
      ::signalfd(signals_.valid() ? signals_.get() : -1, &handled_, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return make_error(Errc::io_error, fmt::format("signalfd: {}", std::strerror(errno)));
  if (!signals_.valid()) signals_ = io::Fd(fd);
  for (int s : signals) signal_handlers_[s] = handler;
  return {};
}

bool EventLoop::run_posted() {
  std::vector<Task> tasks;
  {
    std::lock_guard lock(posted_mutex_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) run_guarded(t, "a posted task");
  return !tasks.empty();
}

void EventLoop::run_guarded(const Task& task, const char* what) {
  // A throwing task is a bug in that task: the tasks after it and the node must not pay.
  try {
    task();
  } catch (...) {
    spdlog::error("{} threw: {}; the node goes on", what, caught_exception_text());
  }
}

bool EventLoop::has_posted() {
  std::lock_guard lock(posted_mutex_);
  return !posted_.empty();
}

bool EventLoop::run_due_timers() {
  const auto now = clock_->now();
  bool any = false;
  for (int i = 0; i < 1024; ++i) {
    auto task = timers_.pop_due(now);
    if (!task) break;
    run_guarded(*task, "a timer task");
    any = true;
  }
  return any;
}

void EventLoop::add_fds(std::vector<pollfd>& fds) const {
  fds.push_back({wake_.get(), POLLIN, 0});
  if (signals_.valid()) fds.push_back({signals_.get(), POLLIN, 0});
}

void EventLoop::handle(std::span<const pollfd> own) {
  for (const pollfd& p : own) {
    if (!(p.revents & POLLIN)) continue;
    if (p.fd == wake_.get()) {
      std::uint64_t v = 0;
      [[maybe_unused]] auto r = ::read(wake_.get(), &v, sizeof v);
    } else if (p.fd == signals_.get()) {
      signalfd_siginfo si{};
      while (::read(signals_.get(), &si, sizeof si) == sizeof si) {
        const int signo = static_cast<int>(si.ssi_signo);
        if (auto it = signal_handlers_.find(signo); it != signal_handlers_.end()) {
          run_guarded([&] { it->second(signo); }, "a signal handler");
        }
      }
    }
  }
}

}  // namespace convoy::node
