#include "node/host_resolver.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <thread>

#include "node/exception_reason.hpp"

namespace convoy::node {

// What the workers share with the resolver. Workers hold it by shared_ptr, so it outlives a
// resolver destroyed while a lookup is still blocked.
struct HostResolver::Shared {
  explicit Shared(Lookup l) : lookup(std::move(l)) {}
  const Lookup lookup;
  std::mutex mutex;
  std::condition_variable work;
  std::deque<std::string> queue;
  std::size_t threads = 0;
  std::size_t idle = 0;
  EventLoop* loop = nullptr;      // null once the resolver is gone; under the mutex
  HostResolver* owner = nullptr;  // loop thread only

  static void work_loop(const std::shared_ptr<Shared>& self) {
    // Signals belong to the loop thread (its signalfd), never to a worker.
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock lock(self->mutex);
    for (;;) {
      self->work.wait(lock, [&] { return !self->queue.empty() || self->loop == nullptr; });
      if (self->loop == nullptr) break;
      std::string host = std::move(self->queue.front());
      self->queue.pop_front();
      --self->idle;
      lock.unlock();
      Result<std::string> address = [&]() -> Result<std::string> {
        try {
          return self->lookup(host);
        } catch (...) {
          return make_error(Errc::io_error, fmt::format("looking up '{}' failed: {}", host,
                                                        caught_exception_text()));
        }
      }();
      lock.lock();
      ++self->idle;
      if (self->loop == nullptr) break;
      std::weak_ptr<Shared> weak = self;
      self->loop->post([weak, host = std::move(host), address = std::move(address)]() mutable {
        if (auto s = weak.lock(); s && s->owner) s->owner->answered(host, std::move(address));
      });
    }
    --self->threads;
  }
};

HostResolver::HostResolver(EventLoop& loop, Lookup lookup, Options options)
    : loop_(loop), options_(options), shared_(std::make_shared<Shared>(std::move(lookup))) {
  shared_->loop = &loop_;
  shared_->owner = this;
}

HostResolver::~HostResolver() {
  std::lock_guard lock(shared_->mutex);
  shared_->loop = nullptr;
  shared_->owner = nullptr;
  shared_->queue.clear();
  shared_->work.notify_all();
}

void HostResolver::resolve(const std::string& host, Done done) {
  if (auto it = waiting_.find(host); it != waiting_.end()) {
    it->second.push_back(std::move(done));
    return;
  }
  if (waiting_.size() >= options_.max_hosts) {
    loop_.post([done = std::move(done), host, n = waiting_.size()] {
      done(make_error(Errc::limit_exceeded,
                      fmt::format("cannot look up '{}': {} host lookups are already in progress "
                                  "(is the system resolver down?)",
                                  host, n)));
    });
    return;
  }
  waiting_[host].push_back(std::move(done));
  std::lock_guard lock(shared_->mutex);
  shared_->queue.push_back(host);
  if (shared_->idle == 0 && shared_->threads < options_.max_threads) {
    ++shared_->threads;
    ++shared_->idle;
    std::thread(Shared::work_loop, shared_).detach();
  }
  shared_->work.notify_one();
}

void HostResolver::answered(const std::string& host, Result<std::string> address) {
  auto it = waiting_.find(host);
  if (it == waiting_.end()) return;
  auto done = std::move(it->second);
  waiting_.erase(it);
  for (auto& d : done) d(address);
}

}  // namespace convoy::node
