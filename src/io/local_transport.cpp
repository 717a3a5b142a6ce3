// The local transport: listeners are queues of socketpair ends keyed by port, each with an
// eventfd the loop polls; a connect makes a socketpair, queues one end and keeps the other.
#include <fmt/format.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include "convoy/transport.hpp"
#include "io/fd.hpp"
#include "io/stream_socket.hpp"

namespace convoy {
namespace {

Error io_error(std::string_view what, int err) {
  return make_error(Errc::io_error, fmt::format("{}: {}", what, std::strerror(err)));
}

// What a listener and the connectors share. The eventfd is readable while `pending` holds
// a connection; both change under `mutex`, so a wake-up is never lost.
struct Backlog {
  std::mutex mutex;
  std::deque<io::Fd> pending;
  io::Fd ready;
  std::uint16_t port = 0;

  void push(io::Fd fd) {
    std::lock_guard lock(mutex);
    pending.push_back(std::move(fd));
    const std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(ready.get(), &one, sizeof one);
  }
  std::optional<io::Fd> pop() {
    std::lock_guard lock(mutex);
    if (pending.empty()) {
      std::uint64_t v = 0;
      [[maybe_unused]] auto r = ::read(ready.get(), &v, sizeof v);
      return std::nullopt;
    }
    io::Fd fd = std::move(pending.front());
    pending.pop_front();
    return fd;
  }
};

class LocalTransport;

class LocalListener final : public Listener {
 public:
  LocalListener(std::shared_ptr<LocalTransport> owner, std::shared_ptr<Backlog> backlog)
      : owner_(std::move(owner)), backlog_(std::move(backlog)) {}
  ~LocalListener() override;
  int fd() const override { return backlog_->ready.get(); }
  Result<std::unique_ptr<Socket>> accept() override {
    auto fd = backlog_->pop();
    if (!fd) return std::unique_ptr<Socket>();
    return io::make_stream_socket(std::move(*fd), fmt::format("local:{}", backlog_->port));
  }

 private:
  std::shared_ptr<LocalTransport> owner_;
  std::shared_ptr<Backlog> backlog_;
};

class LocalTransport final : public Transport, public std::enable_shared_from_this<LocalTransport> {
 public:
  Result<std::unique_ptr<Listener>> listen(const std::string&, std::uint16_t port) override {
    auto backlog = std::make_shared<Backlog>();
    backlog->port = port;
    backlog->ready = io::Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!backlog->ready.valid()) return io_error("eventfd", errno);
    std::lock_guard lock(mutex_);
    if (auto it = ports_.find(port); it != ports_.end() && !it->second.expired()) {
      return io_error(fmt::format("listen on local port {}", port), EADDRINUSE);
    }
    ports_[port] = backlog;
    return std::unique_ptr<Listener>(
        std::make_unique<LocalListener>(shared_from_this(), std::move(backlog)));
  }

  Result<std::unique_ptr<Socket>> connect(const std::string&, std::uint16_t port) override {
    std::shared_ptr<Backlog> backlog;
    {
      std::lock_guard lock(mutex_);
      if (auto it = ports_.find(port); it != ports_.end()) backlog = it->second.lock();
    }
    if (!backlog) return io_error(fmt::format("connect to local port {}", port), ECONNREFUSED);
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
      return io_error("socketpair", errno);
    }
    io::Fd ours(sv[0]);
    backlog->push(io::Fd(sv[1]));
    return io::make_stream_socket(std::move(ours), fmt::format("local:{}", port));
  }

  void forget(std::uint16_t port) {
    std::lock_guard lock(mutex_);
    if (auto it = ports_.find(port); it != ports_.end() && it->second.expired()) ports_.erase(it);
  }

 private:
  std::mutex mutex_;
  std::map<std::uint16_t, std::weak_ptr<Backlog>> ports_;
};

LocalListener::~LocalListener() {
  const auto port = backlog_->port;
  backlog_.reset();  // connections still queued are closed: their dialers see EOF
  owner_->forget(port);
}

}  // namespace

std::shared_ptr<Transport> local_transport() { return std::make_shared<LocalTransport>(); }

}  // namespace convoy
