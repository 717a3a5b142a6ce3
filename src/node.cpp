#include "convoy/node.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>

#include "connection.hpp"
#include "control.hpp"
#include "convoy/clock.hpp"
#include "convoy/socket.hpp"
#include "dist_flags.hpp"
#include "ei/identity.hpp"
#include "timer_queue.hpp"

namespace convoy {
namespace {

using dist::Connection;
using dist::Handshake;

// A file descriptor the loop owns (eventfd, signalfd).
class OwnedFd {
 public:
  explicit OwnedFd(int fd = -1) noexcept : fd_(fd) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::uint32_t random_creation() {
  std::random_device rd;
  std::uint32_t c = 0;
  while (c < 4) c = rd();  // creations 0..3 are the small "old" ones; keep clear of them
  return c;
}

Term atom(std::string_view a) { return Term::atom(a); }

}  // namespace

struct Node::Impl final : dist::ConnectionEvents {
  struct Link {
    std::unique_ptr<Connection> conn;
    // Set when an accepted link for the same peer won a simultaneous connect: the losing
    // dial goes down without failing what waits for that peer.
    bool superseded = false;
  };
  struct Process {
    Mailbox mailbox;
    std::string registered_name;
  };

  Impl(Node& self, NodeOptions opts, ei::Identity identity, std::uint32_t creation,
       std::unique_ptr<Listener> listener, OwnedFd wake)
      : node(self),
        options(std::move(opts)),
        clock(options.clock ? *options.clock : steady_clock),
        identity(std::move(identity)),
        creation(creation),
        listener(std::move(listener)),
        wake(std::move(wake)),
        rng(std::random_device{}()),
        system_pid(this->identity.make_pid()) {}

  Node& node;
  NodeOptions options;
  SteadyClock steady_clock;
  const Clock& clock;
  ei::Identity identity;
  std::uint32_t creation;
  std::unique_ptr<Listener> listener;
  OwnedFd wake;
  OwnedFd signals;
  std::mt19937 rng;
  Pid system_pid;  // sender of messages C++ code sends without a process

  std::vector<std::unique_ptr<Link>> links;
  std::unordered_map<std::string, Link*> by_name;  // up links and dials in progress
  std::unordered_map<std::string, std::deque<std::vector<std::uint8_t>>> pending;
  std::unordered_map<std::string, std::vector<std::function<void(Status)>>> connect_waiters;
  std::vector<std::function<void(const std::string&, bool)>> watchers;

  std::map<std::pair<std::uint32_t, std::uint32_t>, std::shared_ptr<Process>> processes;
  std::unordered_map<std::string, Pid> names;
  std::deque<std::pair<Pid, Term>> local_queue;
  TimerQueue<std::function<void(Node&)>> timers;

  std::mutex posted_mutex;
  std::vector<std::function<void(Node&)>> posted;
  std::atomic<bool> stop_requested{false};
  std::vector<std::uint8_t> scratch;

  // --- identity helpers -------------------------------------------------------------------
  bool is_local(const Pid& p) const {
    return p.node == options.name.str() && p.creation == creation;
  }
  std::shared_ptr<Process> find_process(const Pid& p) const {
    if (!is_local(p)) return nullptr;
    const auto it = processes.find({p.num, p.serial});
    return it == processes.end() ? nullptr : it->second;
  }

  dist::HandshakeParams handshake_params() const {
    return {options.name.str(), options.cookie, dist::kOurFlags, creation};
  }
  Handshake::Random random_fn() {
    return [this] { return static_cast<std::uint32_t>(rng()); };
  }
  dist::ConnectionTimeouts timeouts() const {
    return {options.setup_timeout,
            std::chrono::duration_cast<std::chrono::milliseconds>(options.net_ticktime)};
  }

  // --- links -----------------------------------------------------------------------------
  Link* link_for(const Connection& c) {
    for (auto& l : links) {
      if (l->conn.get() == &c) return l.get();
    }
    return nullptr;
  }

  std::string admit(const std::string& peer) {
    const auto it = by_name.find(peer);
    if (it == by_name.end()) return "ok";
    Link* existing = it->second;
    if (existing->conn->is_up()) {
      // A peer with a healthy link never dials again; a new dial means it lost the old one
      // (restart, or a link it already dropped): replace ours.
      spdlog::info("{} reconnected; replacing the old link", peer);
      existing->conn->close(make_error(Errc::closed, "replaced by a new link from the peer"));
      return "ok";
    }
    // Both sides are dialling each other. As in dist_util, the greater name keeps its own
    // dial and refuses the other's.
    if (options.name.str() > peer) return "nok";
    existing->superseded = true;
    by_name.erase(it);
    existing->conn->close(make_error(Errc::closed, "simultaneous connect: peer's link wins"));
    return "ok_simultaneous";
  }

  void accept_pending() {
    for (int i = 0; i < 64; ++i) {  // bounded so a connect storm cannot starve the links
      auto r = listener->accept();
      if (!r) {
        spdlog::warn("accept failed: {}", r.error().message);
        return;
      }
      if (!*r) return;
      auto hs = Handshake::acceptor(handshake_params(), random_fn(),
                                    [this](const std::string& peer) { return admit(peer); });
      auto link = std::make_unique<Link>();
      spdlog::debug("accepted a connection from {}", (*r)->peer_address());
      link->conn = std::make_unique<Connection>(std::move(*r), std::move(hs), false, clock,
                                                timeouts(), *this);
      links.push_back(std::move(link));
    }
  }

  void dial(const NodeName& peer) {
    auto sock = tcp_connect(std::string(peer.host()), peer.port());
    if (!sock) {
      fail_waiters(peer.str(), sock.error());
      return;
    }
    spdlog::debug("dialling {} at {}:{}", peer.str(), peer.host(), peer.port());
    auto hs = Handshake::initiator(handshake_params(), peer.str(), random_fn());
    auto link = std::make_unique<Link>();
    link->conn = std::make_unique<Connection>(std::move(*sock), std::move(hs), true, clock,
                                              timeouts(), *this);
    by_name[peer.str()] = link.get();
    links.push_back(std::move(link));
  }

  void fail_waiters(const std::string& peer, const Error& why) {
    if (auto it = pending.find(peer); it != pending.end()) {
      if (!it->second.empty()) {
        spdlog::warn("dropping {} message(s) queued for {}: {}", it->second.size(), peer,
                     why.message);
      }
      pending.erase(it);
    }
    if (auto it = connect_waiters.find(peer); it != connect_waiters.end()) {
      auto waiters = std::move(it->second);
      connect_waiters.erase(it);
      for (auto& w : waiters) w(Status(why));
    }
  }

  void on_up(Connection& c) override {
    const std::string peer = c.peer_name();
    Link* link = link_for(c);
    if (auto it = by_name.find(peer); it != by_name.end() && it->second != link) {
      // Only reachable if both sides' admit decisions raced; keep the link that is up.
      if (it->second->conn->is_up()) {
        c.close(make_error(Errc::closed, "duplicate link"));
        return;
      }
      it->second->superseded = true;
      it->second->conn->close(make_error(Errc::closed, "duplicate dial"));
    }
    by_name[peer] = link;
    spdlog::info("link up: {} ({}, {})", peer, c.is_initiator() ? "outbound" : "inbound",
                 c.peer_address());
    if (auto it = pending.find(peer); it != pending.end()) {
      for (auto& frame : it->second) c.send_frame(frame);
      pending.erase(it);
    }
    if (auto it = connect_waiters.find(peer); it != connect_waiters.end()) {
      auto waiters = std::move(it->second);
      connect_waiters.erase(it);
      for (auto& w : waiters) w(Status());
    }
    for (auto& w : std::vector(watchers)) w(peer, true);
  }

  void on_down(Connection& c, const Error& why) override {
    Link* link = link_for(c);
    const std::string peer = c.peer_name();
    const bool was_up = c.handshake().state() == Handshake::State::done;
    if (auto it = by_name.find(peer); it != by_name.end() && it->second == link) {
      by_name.erase(it);
    } else if (!was_up || (link && link->superseded)) {
      // An accepted handshake that failed, or a dial that lost a simultaneous connect.
      if (why.code == make_error_code(Errc::bad_cookie) || !c.is_initiator()) {
        spdlog::warn("inbound connection from {} failed: {}",
                     peer.empty() ? c.peer_address() : peer, why.message);
      }
      return;
    }
    if (was_up) {
      spdlog::warn("link down: {}: {}", peer, why.message);
      for (auto& w : std::vector(watchers)) w(peer, false);
    } else {
      spdlog::warn("cannot connect to {}: {}", peer, why.message);
      fail_waiters(peer, why);
    }
  }

  void on_frame(Connection& c, std::span<const std::uint8_t> frame) override {
    std::size_t used = 0;
    if (frame.empty() || frame[0] != 112) {
      spdlog::warn("dropping a frame from {} without the pass-through header", c.peer_name());
      return;
    }
    auto control = decode(frame.subspan(1), &used);
    if (!control) {
      spdlog::warn("dropping a frame from {}: bad control message: {}", c.peer_name(),
                   control.error().message);
      return;
    }
    const auto rest = frame.subspan(1 + used);
    std::optional<Term> payload;
    if (!rest.empty()) {
      auto p = decode(rest, &used);
      if (!p) {
        spdlog::warn("dropping a message from {}: {} (control {})", c.peer_name(),
                     p.error().message, control->to_string());
        return;
      }
      payload = std::move(*p);
    }
    dispatch(c, *control, payload);
  }

  void dispatch(Connection& c, const Term& control, const std::optional<Term>& payload) {
    const std::int64_t* op =
        control.is_tuple() && control.element(0) ? control.element(0)->as_integer() : nullptr;
    if (!op) {
      spdlog::warn("dropping a malformed control message from {}: {}", c.peer_name(),
                   control.to_string());
      return;
    }
    const auto arity = control.elements().size();
    switch (*op) {
      case dist::op::kSend:
      case dist::op::kSendTT:
      case dist::op::kSendSender:
      case dist::op::kSendSenderTT: {
        const Term* to = control.element(2);
        if (payload && to && to->is_pid()) return deliver(*to->as_pid(), *payload);
        break;
      }
      case dist::op::kRegSend:
      case dist::op::kRegSendTT: {
        const Term* to = control.element(3);
        if (payload && to && to->is_atom()) {
          if (auto it = names.find(to->as_atom()->name); it != names.end()) {
            deliver(it->second, *payload);
          } else {
            spdlog::debug("{} sent to unregistered name {}", c.peer_name(), to->to_string());
          }
          return;
        }
        break;
      }
      case dist::op::kLink:
        if (arity == 3 && control.element(1)->is_pid() && control.element(2)->is_pid()) {
          // Links are not modelled yet: a link to a process that does not exist must still
          // tell the linker at once, as BEAM does.
          const Pid& to = *control.element(2)->as_pid();
          if (!find_process(to)) {
            send_control(c, Term::tuple({Term::integer(dist::op::kExit), *control.element(2),
                                         *control.element(1), atom("noproc")}));
          }
          return;
        }
        break;
      case dist::op::kUnlinkId:
        if (arity == 4) {  // {35, Id, From, To} -> ack {36, Id, To, From}
          send_control(c, Term::tuple({Term::integer(dist::op::kUnlinkIdAck), *control.element(1),
                                       *control.element(3), *control.element(2)}));
          return;
        }
        break;
      case dist::op::kUnlink:
      case dist::op::kUnlinkIdAck:
      case dist::op::kExit:
      case dist::op::kExit2:
      case dist::op::kExitTT:
      case dist::op::kExit2TT:
      case dist::op::kPayloadExit:
      case dist::op::kPayloadExitTT:
      case dist::op::kPayloadExit2:
      case dist::op::kPayloadExit2TT:
      case dist::op::kGroupLeader:
        spdlog::debug("ignoring control message {} from {}", control.to_string(), c.peer_name());
        return;
      default:
        break;
    }
    spdlog::warn("dropping unsupported control message from {}: {}", c.peer_name(),
                 control.to_string());
  }

  void deliver(const Pid& to, const Term& message) {
    if (!find_process(to)) return;  // as in Erlang, a send to a dead pid vanishes
    local_queue.emplace_back(to, message);
  }

  void send_control(Connection& c, const Term& control, const Term* payload = nullptr) {
    scratch.clear();
    encode_append(control, scratch);
    if (payload) encode_append(*payload, scratch);
    c.send_frame(scratch);
  }

  // Routes a frame to `node`: straight onto an up link, else queued while one is set up.
  Status route(const std::string& node, const Term& control, const Term& payload) {
    if (auto it = by_name.find(node); it != by_name.end() && it->second->conn->is_up()) {
      send_control(*it->second->conn, control, &payload);
      return {};
    }
    auto peer = NodeName::parse(node);
    if (!peer) return peer.error();
    auto& queue = pending[node];
    if (queue.size() >= options.max_pending_per_peer) {
      return make_error(
          Errc::not_connected,
          fmt::format("{} messages already wait for a link to {}", queue.size(), node));
    }
    std::vector<std::uint8_t> frame;
    encode_append(control, frame);
    encode_append(payload, frame);
    queue.push_back(std::move(frame));
    if (!by_name.contains(node)) dial(*peer);
    return {};
  }

  void drain_local_queue() {
    // Only what is queued now: handlers that message each other cannot starve the sockets.
    for (std::size_t n = local_queue.size(); n > 0 && !local_queue.empty(); --n) {
      auto [pid, msg] = std::move(local_queue.front());
      local_queue.pop_front();
      if (auto p = find_process(pid)) p->mailbox(node, pid, msg);
    }
  }

  void run_posted() {
    std::vector<std::function<void(Node&)>> tasks;
    {
      std::lock_guard lock(posted_mutex);
      tasks.swap(posted);
    }
    for (auto& t : tasks) t(node);
  }

  void fire_timers() {
    const auto now = clock.now();
    for (int i = 0; i < 1024; ++i) {
      auto task = timers.pop_due(now);
      if (!task) break;
      (*task)(node);
    }
    for (auto& l : links) l->conn->on_timer();
  }

  void flush_all() {
    for (auto& l : links) {
      if (l->conn->wants_write() && !l->conn->is_closed() &&
          l->conn->state() != Connection::State::connecting) {
        l->conn->flush();
      }
    }
  }

  void reap() {
    std::erase_if(links, [](const auto& l) { return l->conn->is_closed(); });
  }

  int poll_timeout_ms() {
    if (!local_queue.empty() || stop_requested.load()) return 0;
    {
      std::lock_guard lock(posted_mutex);
      if (!posted.empty()) return 0;
    }
    auto deadline = Clock::time_point::max();
    if (auto t = timers.next()) deadline = *t;
    for (auto& l : links) deadline = std::min(deadline, l->conn->next_deadline());
    if (deadline == Clock::time_point::max()) return 1000;
    const auto now = clock.now();
    if (deadline <= now) return 0;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    return static_cast<int>(std::min<long long>(ms, 1000));
  }

  // One iteration: run ready work, wait for I/O at most until the next deadline.
  void step() {
    run_posted();
    drain_local_queue();
    fire_timers();
    flush_all();
    reap();

    std::vector<pollfd> fds;
    fds.reserve(links.size() + 3);
    fds.push_back({wake.get(), POLLIN, 0});
    fds.push_back({listener->fd(), POLLIN, 0});
    if (signals.get() >= 0) fds.push_back({signals.get(), POLLIN, 0});
    const std::size_t first_link = fds.size();
    std::vector<Connection*> polled;
    polled.reserve(links.size());
    for (auto& l : links) {
      short events = POLLIN;
      if (l->conn->wants_write()) events |= POLLOUT;
      fds.push_back({l->conn->fd(), events, 0});
      polled.push_back(l->conn.get());
    }
    const int n = ::poll(fds.data(), fds.size(), poll_timeout_ms());
    if (n < 0) {
      if (errno != EINTR) spdlog::error("poll failed: {}", std::strerror(errno));
      return;
    }
    if (n == 0) return;
    if (fds[0].revents & POLLIN) {
      std::uint64_t v = 0;
      [[maybe_unused]] auto r = ::read(wake.get(), &v, sizeof v);
    }
    if (signals.get() >= 0 && (fds[2].revents & POLLIN)) {
      signalfd_siginfo si{};
      if (::read(signals.get(), &si, sizeof si) == sizeof si) {
        spdlog::info("received signal {}, stopping", si.ssi_signo);
        stop_requested = true;
      }
    }
    for (std::size_t i = 0; i < polled.size(); ++i) {
      const short re = fds[first_link + i].revents;
      Connection* c = polled[i];
      if (re == 0 || c->is_closed()) continue;
      if (re & (POLLOUT | POLLERR | POLLHUP)) {
        if (c->state() == Connection::State::connecting) {
          c->on_writable();
          continue;
        }
        if (re & POLLOUT) c->on_writable();
      }
      if (re & (POLLIN | POLLERR | POLLHUP)) c->on_readable();
    }
    if (fds[1].revents & POLLIN) accept_pending();
    flush_all();
  }

  void shutdown_links() {
    for (auto& l : links) {
      if (!l->conn->is_closed()) {
        l->conn->flush();
        l->conn->close(make_error(Errc::closed, "node stopping"));
      }
    }
    reap();
  }
};

// --- Node ---------------------------------------------------------------------------------

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;

Result<std::unique_ptr<Node>> Node::start(NodeOptions options) {
  if (options.cookie.empty()) {
    return make_error(Errc::invalid_argument, "the cookie is empty");
  }
  if (options.net_ticktime.count() < 1) {
    return make_error(Errc::invalid_argument, "net_ticktime must be at least 1 second");
  }
  const std::uint32_t creation = random_creation();
  auto identity = ei::Identity::create(options.name.str(), options.cookie, creation);
  if (!identity) return identity.error();
  auto listener = tcp_listen(options.listen_address, options.name.port());
  if (!listener) {
    return make_error(Errc::io_error, fmt::format("cannot listen on port {} (from the node name "
                                                  "{}): {}",
                                                  options.name.port(), options.name.str(),
                                                  listener.error().message));
  }
  OwnedFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (wake.get() < 0) {
    return make_error(Errc::io_error, fmt::format("eventfd: {}", std::strerror(errno)));
  }
  std::unique_ptr<Node> node(new Node(nullptr));
  node->impl_ = std::make_unique<Impl>(*node, std::move(options), std::move(*identity), creation,
                                       std::move(*listener), std::move(wake));
  // net_kernel answers is_auth, which is all net_adm:ping needs.
  auto net_kernel = node->register_process(
      "net_kernel",
      gen_server_mailbox(
          {.handle_call = [](Node&, const Term& request, const Term&) -> std::optional<Term> {
             if (request.is_tuple(2) && request.element(0)->is_atom("is_auth")) {
               return Term::atom("yes");
             }
             return Term::tuple({Term::atom("error"), Term::atom("unsupported")});
           },
           .handle_cast = {},
           .handle_info = {}}));
  if (!net_kernel) return net_kernel.error();
  spdlog::info("node {} listening on {}:{} (creation {})", node->name().str(),
               node->impl_->options.listen_address, node->name().port(), creation);
  return node;
}

const NodeName& Node::name() const noexcept { return impl_->options.name; }
std::uint32_t Node::creation() const noexcept { return impl_->creation; }

void Node::run() {
  while (!impl_->stop_requested.load()) impl_->step();
  impl_->shutdown_links();
  impl_->stop_requested = false;
}

bool Node::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && !impl_->stop_requested.load() && std::chrono::steady_clock::now() < deadline) {
    impl_->step();
  }
  return done();
}

void Node::stop() noexcept {
  impl_->stop_requested = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(impl_->wake.get(), &one, sizeof one);
}

void Node::post(std::function<void(Node&)> task) {
  {
    std::lock_guard lock(impl_->posted_mutex);
    impl_->posted.push_back(std::move(task));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(impl_->wake.get(), &one, sizeof one);
}

Status Node::stop_on_signals(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return make_error(Errc::io_error, "cannot block signals");
  }
  OwnedFd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (fd.get() < 0) {
    return make_error(Errc::io_error, fmt::format("signalfd: {}", std::strerror(errno)));
  }
  impl_->signals = std::move(fd);
  return {};
}

std::uint64_t Node::after(std::chrono::milliseconds delay, std::function<void(Node&)> task) {
  return impl_->timers.add(impl_->clock.now() + delay, std::move(task));
}
void Node::cancel_timer(std::uint64_t id) { impl_->timers.cancel(id); }

Pid Node::spawn(Mailbox mailbox) {
  Pid pid = impl_->identity.make_pid();
  impl_->processes[{pid.num, pid.serial}] =
      std::make_shared<Impl::Process>(Impl::Process{std::move(mailbox), {}});
  return pid;
}

Result<Pid> Node::register_process(std::string name, Mailbox mailbox) {
  if (name.empty()) return make_error(Errc::invalid_argument, "empty registered name");
  if (impl_->names.contains(name)) {
    return make_error(Errc::invalid_argument, fmt::format("name '{}' is already registered", name));
  }
  Pid pid = spawn(std::move(mailbox));
  impl_->processes[{pid.num, pid.serial}]->registered_name = name;
  impl_->names.emplace(std::move(name), pid);
  return pid;
}

void Node::exit_process(const Pid& pid) {
  auto p = impl_->find_process(pid);
  if (!p) return;
  if (!p->registered_name.empty()) impl_->names.erase(p->registered_name);
  impl_->processes.erase({pid.num, pid.serial});
}

std::optional<Pid> Node::whereis(std::string_view name) const {
  if (auto it = impl_->names.find(std::string(name)); it != impl_->names.end()) return it->second;
  return std::nullopt;
}

Ref Node::make_ref() { return impl_->identity.make_ref(); }

Status Node::send(const Pid& to, const Term& message) {
  if (to.node == name().str()) {
    impl_->deliver(to, message);
    return {};
  }
  return impl_->route(to.node,
                      Term::tuple({Term::integer(dist::op::kSend), Term::atom(""), Term::pid(to)}),
                      message);
}

Status Node::send(const RegName& to, const Term& message, const std::optional<Pid>& from) {
  if (to.node.empty() || to.node == name().str()) {
    if (auto pid = whereis(to.name)) impl_->deliver(*pid, message);
    return {};
  }
  return impl_->route(
      to.node,
      Term::tuple({Term::integer(dist::op::kRegSend), Term::pid(from.value_or(impl_->system_pid)),
                   Term::atom(""), Term::atom(to.name)}),
      message);
}

Status Node::reply(const Term& from, const Term& reply) {
  if (!from.is_tuple(2) || !from.element(0)->is_pid()) {
    return make_error(Errc::invalid_argument,
                      fmt::format("not a gen_server From: {}", from.to_string()));
  }
  // The tag goes back exactly as it came, whether a ref or OTP 24+'s [alias | Ref].
  return send(*from.element(0)->as_pid(), Term::tuple({*from.element(1), reply}));
}

namespace {

// gen_server:call from C++: a throw-away process receives {Tag, Reply}; a timer gives up.
void start_call(Node& node, const std::function<Status(const Term&, const Pid&)>& send,
                const Term& request, std::string target, std::chrono::milliseconds timeout,
                std::function<void(Result<Term>)> done) {
  struct State {
    std::function<void(Result<Term>)> done;
    std::uint64_t timer = 0;
    bool finished = false;
  };
  auto state = std::make_shared<State>(State{std::move(done)});
  const Ref tag = node.make_ref();
  const Pid self = node.spawn([state, tag](Node& n, const Pid& me, const Term& msg) {
    if (state->finished || !msg.is_tuple(2) || !msg.element(0)->is_ref() ||
        *msg.element(0)->as_ref() != tag) {
      return;
    }
    state->finished = true;
    n.cancel_timer(state->timer);
    n.exit_process(me);
    state->done(*msg.element(1));
  });
  state->timer = node.after(timeout, [state, self, target, timeout](Node& n) {
    if (state->finished) return;
    state->finished = true;
    n.exit_process(self);
    state->done(make_error(
        Errc::timeout, fmt::format("call to {} timed out after {} ms", target, timeout.count())));
  });
  const Term msg = Term::tuple(
      {Term::atom("$gen_call"), Term::tuple({Term::pid(self), Term::ref(tag)}), request});
  if (auto st = send(msg, self); !st) {
    state->finished = true;
    node.cancel_timer(state->timer);
    node.exit_process(self);
    state->done(st.error());
  }
}

}  // namespace

void Node::call(const RegName& to, const Term& request, std::chrono::milliseconds timeout,
                std::function<void(Result<Term>)> done) {
  start_call(
      *this, [&](const Term& msg, const Pid& self) { return send(to, msg, self); }, request,
      fmt::format("{{{},{}}}", to.name, to.node), timeout, std::move(done));
}

void Node::call(const Pid& to, const Term& request, std::chrono::milliseconds timeout,
                std::function<void(Result<Term>)> done) {
  start_call(
      *this, [&](const Term& msg, const Pid&) { return send(to, msg); }, request,
      Term::pid(to).to_string(), timeout, std::move(done));
}

Status Node::cast(const RegName& to, const Term& request) {
  return send(to, Term::tuple({Term::atom("$gen_cast"), request}));
}

void Node::connect(const NodeName& peer, std::function<void(Status)> done) {
  if (peer == name()) {
    if (done) done(Status());
    return;
  }
  if (auto it = impl_->by_name.find(peer.str()); it != impl_->by_name.end()) {
    if (it->second->conn->is_up()) {
      if (done) done(Status());
      return;
    }
    if (done) impl_->connect_waiters[peer.str()].push_back(std::move(done));
    return;
  }
  if (done) impl_->connect_waiters[peer.str()].push_back(std::move(done));
  impl_->dial(peer);
}

void Node::disconnect(std::string_view node) {
  if (auto it = impl_->by_name.find(std::string(node)); it != impl_->by_name.end()) {
    it->second->conn->close(make_error(Errc::closed, "disconnected locally"));
  }
}

bool Node::is_connected(std::string_view node) const {
  const auto it = impl_->by_name.find(std::string(node));
  return it != impl_->by_name.end() && it->second->conn->is_up();
}

std::vector<std::string> Node::connected_nodes() const {
  std::vector<std::string> out;
  for (const auto& [peer, link] : impl_->by_name) {
    if (link->conn->is_up()) out.push_back(peer);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Node::watch_nodes(std::function<void(const std::string& node, bool up)> watcher) {
  impl_->watchers.push_back(std::move(watcher));
}

}  // namespace convoy
