#include "convoy/discovery.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "convoy/node.hpp"

namespace convoy {

// Shared by the loop (strategy, dials, timers) and the resolver thread (lookups). The
// thread and every posted task hold only weak references, so destroying Discovery first
// is safe.
struct Discovery::State : std::enable_shared_from_this<Discovery::State> {
  State(Node& n, DnsSrvOptions opts, std::unique_ptr<SrvResolver> r)
      : node(n),
        strategy(opts, n.name()),
        resolver(std::move(r)),
        query(opts.query_name()),
        poll_interval(opts.poll_interval) {
    stats.started = n.clock().now();
  }

  Node& node;
  DnsSrvStrategy strategy;                // loop thread only
  DiscoveryStats stats;                   // loop thread only
  std::unique_ptr<SrvResolver> resolver;  // resolver thread only
  const std::string query;
  std::uint64_t due_timer = 0;

  std::mutex mutex;  // guards what follows
  std::condition_variable wake;
  std::chrono::milliseconds poll_interval;
  std::unique_ptr<SrvResolver> next_resolver;  // reconfigure()'s, for the thread to take up
  bool poll_now = false;
  bool stopping = false;
  bool thread_done = false;

  // The node's clock: tests that drive the node's time drive discovery's too.
  Clock::time_point now() const { return node.clock().now(); }

  DnsSrvStrategy::IsConnected is_connected() {
    return [this](const std::string& n) { return node.is_connected(n); };
  }

  void apply(const Result<SrvAnswer>& answer) {
    ++stats.polls;
    if (answer) {
      stats.consecutive_failures = 0;
      stats.last_success = now();
    } else {
      ++stats.failures;
      ++stats.consecutive_failures;
      stats.last_error = answer.error().message;
    }
    auto plan = strategy.on_answer(answer, is_connected(), now());
    stats.known_peers = strategy.known_peers().size();
    for (const auto& m : plan.log_warn) spdlog::warn("discovery: {}", m);
    for (const auto& m : plan.log_info) spdlog::info("discovery: {}", m);
    for (const auto& n : plan.disconnect) node.disconnect(n);
    for (const auto& p : plan.connect) dial(p);
    schedule_due();
  }

  void dial(const NodeName& peer) {
    std::weak_ptr<State> weak = shared_from_this();
    node.connect(peer, [weak, name = peer.str()](Status st) {
      auto self = weak.lock();
      if (!self) return;
      if (st) {
        self->strategy.on_connected(name);
      } else {
        spdlog::debug("discovery: dial {} failed: {}", name, st.error().message);
        self->strategy.on_connect_failed(name, self->now());
        self->schedule_due();
      }
    });
  }

  void schedule_due() {
    node.cancel_timer(due_timer);
    due_timer = 0;
    const auto next = strategy.next_due();
    if (!next) return;
    const auto delay =
        std::max(std::chrono::milliseconds(0),
                 std::chrono::duration_cast<std::chrono::milliseconds>(*next - now()));
    std::weak_ptr<State> weak = shared_from_this();
    due_timer = node.after(delay, [weak](Node&) {
      auto self = weak.lock();
      if (!self) return;
      self->due_timer = 0;
      for (const auto& p : self->strategy.due(self->is_connected(), self->now())) self->dial(p);
      self->schedule_due();
    });
  }

  // The resolver thread: look up, hand the answer to the loop, sleep, repeat.
  static void poll_loop(const std::shared_ptr<State>& self) {
    for (;;) {
      auto answer = self->resolver->resolve(self->query);
      std::unique_lock lock(self->mutex);
      if (self->stopping) break;
      std::weak_ptr<State> weak = self;
      self->node.post([weak, answer = std::move(answer)](Node&) {
        if (auto s = weak.lock()) s->apply(answer);
      });
      if (self->wake.wait_for(lock, self->poll_interval,
                              [&] { return self->stopping || self->poll_now; })) {
        if (self->stopping) break;
      }
      self->poll_now = false;
      if (self->next_resolver) {
        // The old one is released outside the lock: closing it touches sockets.
        auto old = std::exchange(self->resolver, std::move(self->next_resolver));
        lock.unlock();
        old.reset();
      }
    }
    std::lock_guard lock(self->mutex);
    self->thread_done = true;
    self->wake.notify_all();
  }
};

Discovery::Discovery(std::shared_ptr<State> state) : state_(std::move(state)) {}

Result<std::unique_ptr<Discovery>> Discovery::start(Node& node, DnsSrvOptions options,
                                                    std::unique_ptr<SrvResolver> resolver) {
  if (auto st = options.validate(); !st) return st.error();
  if (!resolver) {
    auto r = make_ldns_resolver({.nameservers = options.nameservers});
    if (!r) return r.error();
    resolver = std::move(*r);
  }
  auto state = std::make_shared<State>(node, options, std::move(resolver));
  std::weak_ptr<State> weak = state;
  node.watch_nodes([weak](const std::string& peer, bool up) {
    auto s = weak.lock();
    if (!s || up) return;
    s->strategy.on_link_down(peer, s->now());
    s->schedule_due();
  });
  spdlog::info(
      "discovery: polling {} every {} ms via {}", options.query_name(),
      options.poll_interval.count(),
      options.nameservers.empty() ? std::string("the system resolver") : [&] {
        std::string s;
        for (const auto& ns : options.nameservers) {
          s += (s.empty() ? "" : ", ") + ns.to_string();
        }
        return s;
      }());
  // The thread owns a reference so the resolver outlives any lookup still in flight.
  std::thread(State::poll_loop, state).detach();
  return std::unique_ptr<Discovery>(new Discovery(std::move(state)));
}

DiscoveryStats Discovery::stats() const { return state_->stats; }

const DnsSrvOptions& Discovery::options() const { return state_->strategy.options(); }

Status Discovery::reconfigure(DnsSrvOptions options) {
  if (auto st = options.validate(); !st) return st;
  const DnsSrvOptions& now = state_->strategy.options();
  for (const auto& [differs, what] : {
           std::pair{options.consul_service != now.consul_service, "consul_service"},
           std::pair{options.node_sname != now.node_sname, "node_sname"},
           std::pair{options.host_from != now.host_from, "host_from"},
       }) {
    if (differs) {
      return make_error(
          Errc::invalid_argument,
          fmt::format("{} cannot change while discovery runs (restart to change it)", what));
    }
  }
  std::unique_ptr<SrvResolver> resolver;
  if (options.nameservers != now.nameservers) {
    auto r = make_ldns_resolver({.nameservers = options.nameservers});
    if (!r) return r.error();
    resolver = std::move(*r);
  }
  state_->strategy.retune(options);
  std::lock_guard lock(state_->mutex);
  if (resolver) state_->next_resolver = std::move(resolver);
  state_->poll_interval = options.poll_interval;
  // A new pace or new servers are tried at once, not after the old interval.
  state_->poll_now = true;
  state_->wake.notify_all();
  return {};
}

Discovery::~Discovery() {
  std::unique_lock lock(state_->mutex);
  state_->stopping = true;
  state_->wake.notify_all();
  // A lookup in flight ends within its timeout; shutdown must not wait that long (SIGTERM
  // has a 2 s budget), and the thread touches nothing of the node once `stopping` is set.
  const bool joined = state_->wake.wait_for(lock, std::chrono::milliseconds(500),
                                            [&] { return state_->thread_done; });
  // The thread is past its last lookup: release the resolver here, deterministically, rather
  // than whenever the thread lets go of the state. If it is still stuck in a lookup, the
  // resolver lives until that lookup ends.
  if (joined) state_->resolver.reset();
  if (state_->due_timer) state_->node.cancel_timer(state_->due_timer);
}

}  // namespace convoy
