#include "node/link_table.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace convoy::node {

using dist::Connection;
using dist::Handshake;

// One connection and what the table knows about it. It is its connection's event sink, so
// every event arrives with its link in hand.
struct LinkTable::Link final : dist::ConnectionEvents {
  LinkTable& table;
  std::unique_ptr<Connection> conn;
  bool initiator;
  bool admitted_alive = false;  // inbound, answered `alive`: may replace the up link
  bool was_up = false;
  bool refused_simultaneous = false;  // inbound, answered `nok`: our own dial goes on
  // Closed by the table for a reason that is not the peer's loss: a dial that lost a
  // simultaneous connect, a duplicate, or an up link the peer replaced.
  enum class Retired { no, superseded, duplicate, replaced } retired = Retired::no;

  Link(LinkTable& t, bool init) : table(t), initiator(init) {}
  const std::string& peer() const { return conn->peer_name(); }

  void on_up(Connection&) override { table.link_up(*this); }
  void on_frame(Connection&, std::span<const std::uint8_t> frame) override {
    table.events_.on_frame(peer(), frame);
  }
  void on_down(Connection&, const Error& why) override { table.link_down(*this, why); }
};

LinkTable::LinkTable(LinkTableOptions options, EventLoop& loop, Listener& listener, Dialer dialer,
                     LinkEvents& events)
    : options_(std::move(options)),
      loop_(loop),
      listener_(listener),
      dialer_(std::move(dialer)),
      events_(events) {}

LinkTable::~LinkTable() = default;

std::vector<LinkTable::Link*> LinkTable::snapshot() const {
  std::vector<Link*> out;
  out.reserve(links_.size());
  for (const auto& l : links_) out.push_back(l.get());
  return out;
}

LinkTable::Link& LinkTable::add_link(std::unique_ptr<Socket> socket, bool initiator,
                                     const std::string& peer) {
  auto link = std::make_unique<Link>(*this, initiator);
  Link* raw = link.get();
  auto hs = initiator ? Handshake::initiator(options_.handshake, peer, options_.random)
                      : Handshake::acceptor(
                            options_.handshake, options_.random,
                            [this, raw](const std::string& name) { return admit(*raw, name); });
  // Constructing the connection may already run the handshake's first step; the link is in
  // the table before any event can reach it.
  links_.push_back(std::move(link));
  raw->conn =
      std::make_unique<Connection>(std::move(socket), std::move(hs), initiator, loop_.clock(),
                                   options_.timeouts, *raw, options_.connection);
  return *raw;
}

// --- admission (acceptor side, before the cookie is proven) --------------------------------

std::string LinkTable::admit(Link& link, const std::string& name) {
  if (stopping_) return "not_allowed";
  if (name == options_.handshake.local_name) return "not_allowed";
  Peer& p = peers_[name];
  if (p.up) {
    // The peer may have restarted without our noticing; its new connection replaces the
    // old link once it proves the cookie, never before.
    link.admitted_alive = true;
    p.inbound.push_back(&link);
    return "alive";
  }
  if (p.dial) {
    // Both sides are dialling: the greater name keeps its own dial.
    if (options_.handshake.local_name > name) {
      link.refused_simultaneous = true;
      return "nok";
    }
    p.inbound.push_back(&link);
    return "ok_simultaneous";
  }
  p.inbound.push_back(&link);
  return "ok";
}

// --- links coming up and going down -----------------------------------------------------------

void LinkTable::link_up(Link& link) {
  const std::string name = link.peer();
  Peer& p = peers_[name];
  std::erase(p.inbound, &link);
  if (p.dial == &link) p.dial = nullptr;
  Link* old = nullptr;
  if (p.up) {
    if (!link.admitted_alive) {
      link.retired = Link::Retired::duplicate;
      link.conn->close(make_error(Errc::closed, "duplicate link"));
      return;
    }
    old = p.up;
  }
  if (p.dial) {
    Link* d = std::exchange(p.dial, nullptr);
    d->retired = Link::Retired::superseded;
    d->conn->close(make_error(Errc::closed, "simultaneous connect: the peer's link won"));
  }
  if (p.await_timer) loop_.cancel(std::exchange(p.await_timer, 0));
  link.was_up = true;
  p.up = &link;
  if (old) {
    spdlog::info("{} reconnected and proved the cookie; replacing the old link", name);
    old->retired = Link::Retired::replaced;
    old->conn->close(make_error(Errc::closed, "replaced by a new link from the peer"));
  }
  ++stats_.links_up;
  if (!link.initiator) ++stats_.handshakes_accepted;
  if (auto f = dial_failures_.find(name); f != dial_failures_.end()) {
    spdlog::info("link up: {} ({}, {}) after {} failed dials", name,
                 link.initiator ? "outbound" : "inbound", link.conn->peer_address(), f->second);
    dial_failures_.erase(f);
  } else {
    spdlog::info("link up: {} ({}, {})", name, link.initiator ? "outbound" : "inbound",
                 link.conn->peer_address());
  }
  if (!p.queue.empty()) {
    auto queue = std::move(p.queue);
    p.queue.clear();
    p.queued_bytes = 0;
    for (auto& body : queue) link.conn->send_frame(body);
  }
  if (!p.waiters.empty()) {
    auto waiters = std::move(p.waiters);
    p.waiters.clear();
    for (auto& w : waiters) w(Status());
  }
  events_.on_link_up(name);
}

void LinkTable::link_down(Link& link, const Error& why) {
  const std::string name = link.peer();
  const auto it = name.empty() ? peers_.end() : peers_.find(name);
  if (it == peers_.end()) {
    // An inbound connection that never named itself, or that admission refused (every dial
    // and every admitted handshake has an entry until reap()).
    inbound_failed(name.empty() ? link.conn->peer_address() : name, why);
    return;
  }
  Peer& p = it->second;
  if (p.up == &link || link.retired == Link::Retired::replaced) {
    if (p.up == &link) p.up = nullptr;
    ++stats_.links_down[error_label(why.code)];
    // An up link's only timeout is net_ticktime's (setup timeouts end handshakes).
    if (why.code == make_error_code(Errc::timeout)) ++stats_.tick_timeouts;
    // Errc::closed: the peer closed it (a node stopping) or we did; anything else is trouble.
    spdlog::log(
        why.code == make_error_code(Errc::closed) ? spdlog::level::info : spdlog::level::warn,
        "link down: {}: {}", name, why.message);
    events_.on_link_down(name);
    return;
  }
  if (link.retired != Link::Retired::no) {
    spdlog::debug("connection to {} closed: {}", name, why.message);
    return;
  }
  if (p.dial == &link) {
    p.dial = nullptr;
    if (link.conn->handshake().lost_simultaneous()) {
      // The peer's own link takes over; what waits for the peer waits for it, unless it has
      // not come up within the setup timeout.
      spdlog::debug("simultaneous connect with {}: waiting for its link", name);
      if (p.inbound.empty() && p.await_timer == 0) {
        p.await_timer = loop_.after(loop_.clock().now() + options_.timeouts.connect_and_handshake,
                                    [this, name, why] {
                                      Peer& q = peers_[name];
                                      q.await_timer = 0;
                                      if (!q.up && !q.dial && q.inbound.empty()) fail(name, q, why);
                                    });
      }
      return;
    }
    return dial_failed(name, p, why);
  }
  // An inbound handshake that failed, or that we refused in favour of our own dial.
  std::erase(p.inbound, &link);
  if (link.refused_simultaneous) {
    spdlog::debug("simultaneous connect with {}: refused its dial, ours goes on", name);
  } else {
    inbound_failed(name, why);
  }
  if (!p.up && !p.dial && p.inbound.empty() && (!p.waiters.empty() || !p.queue.empty())) {
    // It was the peer's pending link for what waits here: dial the peer ourselves. (An
    // await timer is overtaken: the link it waited for has just failed.)
    if (p.await_timer) loop_.cancel(std::exchange(p.await_timer, 0));
    dial(name, p);
  }
}

void LinkTable::fail(const std::string& name, Peer& p, const Error& why) {
  events_.on_unreachable(name);  // monitors and links that waited for this link fire
  if (!p.queue.empty()) {
    spdlog::warn("dropping {} message(s) queued for {}: {}", p.queue.size(), name, why.message);
    p.queue.clear();
    p.queued_bytes = 0;
  }
  if (!p.waiters.empty()) {
    auto waiters = std::move(p.waiters);
    p.waiters.clear();
    for (auto& w : waiters) w(Status(why));
  }
}

void LinkTable::inbound_failed(const std::string& who, const Error& why) {
  ++stats_.handshakes_refused[error_label(why.code)];
  // A connect storm or a scanner must not turn into a log line per connection.
  if (!inbound_log_.allow()) return;
  if (const auto n = inbound_log_.take_suppressed()) {
    spdlog::warn("{} more failed inbound connection(s) were not logged", n);
  }
  spdlog::warn("inbound connection from {} failed: {}", who, why.message);
}

void LinkTable::dial_failed(const std::string& name, Peer& p, const Error& why) {
  // Once per streak at warn (with the count when it connects again): a peer that is down
  // for an hour must not write a line per retry.
  if (dial_failures_.size() >= kMaxDialStreaks && !dial_failures_.contains(name)) {
    dial_failures_.clear();  // bounded: at worst, a few streaks warn twice
  }
  ++stats_.dials_failed[error_label(why.code)];
  const auto n = ++dial_failures_[name];
  if (n == 1) {
    spdlog::warn("cannot connect to {}: {} (retries are logged at debug until it connects)", name,
                 why.message);
  } else {
    spdlog::debug("cannot connect to {} ({} failures in a row): {}", name, n, why.message);
  }
  fail(name, p, why);
}

void LinkTable::dial(const std::string& name, Peer& p) {
  auto peer = NodeName::parse(name);
  if (!peer) return dial_failed(name, p, peer.error());
  if (stopping_) return fail(name, p, make_error(Errc::not_connected, "the node is stopping"));
  if (dials_in_progress() >= options_.max_dials) {
    if (dial_cap_log_.allow()) {
      spdlog::warn("{} dials in progress (the most allowed): not dialling {} now",
                   options_.max_dials, name);
    }
    return fail(name, p,
                make_error(Errc::limit_exceeded,
                           fmt::format("{} dials are already in progress", options_.max_dials)));
  }
  const std::string host(peer->host());
  const std::uint16_t port = peer->port();
  if (!dialer_.needs_lookup || !dialer_.needs_lookup(host)) return connect_to(name, p, host, port);
  // The lookup runs off the loop; the setup timeout covers it as it covers the handshake.
  const std::uint64_t id = ++last_lookup_;
  p.lookup = id;
  ++lookups_;
  const auto limit = options_.timeouts.connect_and_handshake;
  p.lookup_timer = loop_.after(loop_.clock().now() + limit, [this, name, id, host, limit] {
    const auto it = peers_.find(name);
    if (it == peers_.end() || it->second.lookup != id) return;
    it->second.lookup_timer = 0;
    cancel_lookup(it->second);
    dial_failed(name, it->second,
                make_error(Errc::timeout, fmt::format("looking up host '{}' took more than {} ms",
                                                      host, limit.count())));
  });
  spdlog::debug("looking up {} to dial {}", host, name);
  dialer_.lookup(host, [this, name, id, port](Result<std::string> address) {
    looked_up(name, id, std::move(address), port);
  });
}

void LinkTable::looked_up(const std::string& name, std::uint64_t id, Result<std::string> address,
                          std::uint16_t port) {
  const auto it = peers_.find(name);
  if (it == peers_.end() || it->second.lookup != id) return;  // timed out or cancelled
  Peer& p = it->second;
  cancel_lookup(p);
  if (!address) return dial_failed(name, p, address.error());
  if (stopping_) return fail(name, p, make_error(Errc::not_connected, "the node is stopping"));
  connect_to(name, p, *address, port);
}

void LinkTable::cancel_lookup(Peer& p) {
  if (p.lookup == 0) return;
  p.lookup = 0;
  --lookups_;
  if (p.lookup_timer) loop_.cancel(std::exchange(p.lookup_timer, 0));
}

void LinkTable::connect_to(const std::string& name, Peer& p, const std::string& address,
                           std::uint16_t port) {
  auto sock = dialer_.connect(address, port);
  if (!sock) return dial_failed(name, p, sock.error());
  spdlog::debug("dialling {} at {}:{}", name, address, port);
  p.dial = &add_link(std::move(*sock), true, name);
}

std::size_t LinkTable::dials_in_progress() const {
  const auto connecting = std::count_if(links_.begin(), links_.end(), [](const auto& l) {
    return l->initiator && !l->was_up && !l->conn->is_closed();
  });
  return static_cast<std::size_t>(connecting) + lookups_;
}

// --- the API ---------------------------------------------------------------------------------

void LinkTable::connect(const NodeName& peer, std::function<void(Status)> done) {
  if (peer.str() == options_.handshake.local_name) {
    if (done) done(Status());
    return;
  }
  Peer& p = peers_[peer.str()];
  if (p.up) {
    if (done) done(Status());
    return;
  }
  if (done) p.waiters.push_back(std::move(done));
  if (!p.setting_up()) dial(peer.str(), p);
}

Status LinkTable::send(const std::string& node, std::span<const std::uint8_t> body) {
  if (const auto it = peers_.find(node); it != peers_.end() && it->second.up) {
    it->second.up->conn->send_frame(body);
    return {};
  }
  auto peer = NodeName::parse(node);
  if (!peer) return peer.error();
  if (stopping_) return make_error(Errc::not_connected, "the node is stopping");
  Peer& p = peers_[node];
  if (p.queue.size() >= options_.max_pending_per_peer) {
    return make_error(Errc::limit_exceeded, fmt::format("{} messages already wait for a link to {}",
                                                        p.queue.size(), node));
  }
  if (p.queued_bytes + body.size() > options_.max_pending_bytes_per_peer) {
    return make_error(Errc::limit_exceeded,
                      fmt::format("{} bytes already wait for a link to {} (the limit is {})",
                                  p.queued_bytes, node, options_.max_pending_bytes_per_peer));
  }
  p.queued_bytes += body.size();
  p.queue.emplace_back(body.begin(), body.end());
  if (!p.setting_up()) dial(node, p);
  return {};
}

void LinkTable::disconnect(const std::string& node) {
  const auto it = peers_.find(node);
  if (it == peers_.end()) return;
  if (Link* l = it->second.up) l->conn->close(make_error(Errc::closed, "disconnected locally"));
  if (Link* d = it->second.dial) d->conn->close(make_error(Errc::closed, "disconnected locally"));
  if (it->second.lookup) {
    cancel_lookup(it->second);
    fail(node, it->second, make_error(Errc::closed, "disconnected locally"));
  }
}

void LinkTable::close(const std::string& node, const Error& why) {
  const auto it = peers_.find(node);
  if (it != peers_.end() && it->second.up) it->second.up->conn->close(why);
}

bool LinkTable::is_connected(const std::string& node) const {
  const auto it = peers_.find(node);
  return it != peers_.end() && it->second.up != nullptr;
}

std::vector<std::string> LinkTable::connected() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : peers_) {
    if (p.up) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- the loop's hooks --------------------------------------------------------------------------

void LinkTable::accept_pending() {
  for (int i = 0; i < 64; ++i) {  // bounded so a connect storm cannot starve the links
    auto r = listener_.accept();
    if (!r) {
      // Once per episode; then retry after a pause that grows to 1 s, without polling.
      if (accept_failures_++ == 0) {
        spdlog::warn(
            "accept failed: {}; pausing accepts (retried every second at most; logged "
            "again when it works)",
            r.error().message);
      }
      accept_backoff_ = std::min<std::chrono::milliseconds>(
          std::chrono::milliseconds(1000),
          accept_backoff_.count() == 0 ? std::chrono::milliseconds(50) : accept_backoff_ * 2);
      accept_resume_ = loop_.clock().now() + accept_backoff_;
      return;
    }
    if (!*r) return;
    if (accept_failures_ > 0) {
      spdlog::info("accepting connections again after {} failed accepts", accept_failures_);
      accept_failures_ = 0;
      accept_backoff_ = std::chrono::milliseconds(0);
    }
    const auto in_handshake = std::count_if(links_.begin(), links_.end(), [](const auto& l) {
      return !l->initiator && !l->conn->is_up() && !l->conn->is_closed();
    });
    if (static_cast<std::size_t>(in_handshake) >= options_.max_inbound_handshakes) {
      ++refused_over_cap_;
      ++stats_.handshakes_refused[error_label(make_error_code(Errc::limit_exceeded))];
      if (cap_log_.allow()) {
        spdlog::warn(
            "{} inbound handshakes in progress (the most allowed): closing new "
            "connections, {} so far, starting with {}",
            in_handshake, refused_over_cap_, (*r)->peer_address());
      }
      continue;  // the socket closes here
    }
    spdlog::debug("accepted a connection from {}", (*r)->peer_address());
    add_link(std::move(*r), false, "");
  }
}

NodeStats LinkTable::stats() const {
  NodeStats s = stats_;
  for (const auto& [name, p] : peers_) {
    if (p.up) ++s.peers_connected;
    s.pending_messages += p.queue.size();
    s.pending_bytes += p.queued_bytes;
  }
  return s;
}

bool LinkTable::accepting() const {
  return accept_failures_ == 0 || loop_.clock().now() >= accept_resume_;
}

void LinkTable::add_fds(std::vector<pollfd>& fds) {
  polled_.clear();
  update_back_pressure();
  for (const auto& l : links_) {
    if (l->conn->is_closed()) continue;
    short events = l->conn->read_paused() ? 0 : POLLIN;
    if (l->conn->wants_write()) events |= POLLOUT;
    fds.push_back({l->conn->fd(), events, 0});
    polled_.push_back(l.get());
  }
}

void LinkTable::dispatch(std::span<const pollfd> fds) {
  // polled_ is this turn's list; links added meanwhile wait for the next turn.
  const auto polled = std::move(polled_);
  polled_.clear();
  for (std::size_t i = 0; i < polled.size() && i < fds.size(); ++i) {
    const short re = fds[i].revents;
    Connection& c = *polled[i]->conn;
    if (re == 0 || c.is_closed()) continue;
    if (re & (POLLOUT | POLLERR | POLLHUP)) {
      if (c.state() == Connection::State::connecting) {
        c.on_writable();
        continue;
      }
      if (re & POLLOUT) c.on_writable();
    }
    if (re & (POLLIN | POLLERR | POLLHUP)) c.on_readable();
  }
}

// BEAM's dist_buf_busy_limit, seen from the reading side: output piles up when a peer reads
// slower than we produce, and what we produce comes from what we read. So reading pauses on a
// link whose own output is over the mark (a peer that floods requests and never reads the
// replies throttles itself, nobody else), and on every link while all output together is over
// the node's mark; each resumes below half its mark. Paused links are not timed out for the
// silence (Connection::set_read_paused).
void LinkTable::update_back_pressure() {
  std::size_t total = 0;
  for (const auto& l : links_) total += l->conn->output_bytes();
  const bool was_node_paused = node_paused_;
  if (total > options_.node_output_high_water) {
    node_paused_ = true;
  } else if (total < options_.node_output_high_water / 2) {
    node_paused_ = false;
  }
  if (node_paused_ != was_node_paused) {
    if (node_paused_) {
      ++stats_.node_read_pauses;
      node_paused_since_ = loop_.clock().now();
      spdlog::warn(
          "{} bytes of output wait on {} links, over node_output_high_water ({}): reading "
          "from every link pauses until it is below half",
          total, links_.size(), options_.node_output_high_water);
    } else {
      spdlog::info("output is below half of node_output_high_water again: reading resumes");
    }
  }
  for (const auto& l : links_) {
    Connection& c = *l->conn;
    if (c.is_closed() || !c.is_up()) continue;
    const std::size_t out = c.output_bytes();
    const bool over = out > options_.link_output_high_water ||
                      (c.read_paused() && out > options_.link_output_high_water / 2);
    if (over && !c.read_paused()) {
      ++stats_.link_read_pauses;
      if (pause_log_.allow()) {
        spdlog::info(
            "{} reads slower than it sends: {} bytes of output wait for it (over "
            "link_output_high_water, {}); reading from it pauses until they drain",
            c.peer_name(), out, options_.link_output_high_water);
      }
    }
    c.set_read_paused(over || node_paused_);
  }
}

// While the node's reading is paused nothing new is produced, so the output drains unless a
// peer has stopped reading altogether; that one must not hold every link hostage.
void LinkTable::break_node_stall() {
  if (!node_paused_ || loop_.clock().now() < node_paused_since_ + kNodeStallLimit) return;
  Link* worst = nullptr;
  for (const auto& l : links_) {
    if (l->conn->is_closed()) continue;
    if (!worst || l->conn->output_bytes() > worst->conn->output_bytes()) worst = l.get();
  }
  node_paused_since_ = loop_.clock().now();
  if (!worst) return;
  worst->conn->close(make_error(
      Errc::limit_exceeded,
      fmt::format("{} has not read for {} ms while {} bytes wait for it and the node's output "
                  "is over node_output_high_water ({})",
                  worst->conn->peer_name(), kNodeStallLimit.count(), worst->conn->output_bytes(),
                  options_.node_output_high_water)));
}

void LinkTable::on_timers() {
  for (Link* l : snapshot()) l->conn->on_timer();
  break_node_stall();
}

void LinkTable::flush_all() {
  for (Link* l : snapshot()) {
    Connection& c = *l->conn;
    if (c.wants_write() && !c.is_closed() && c.state() != Connection::State::connecting) c.flush();
  }
}

Clock::time_point LinkTable::next_deadline() const {
  auto deadline = Clock::time_point::max();
  for (const auto& l : links_) deadline = std::min(deadline, l->conn->next_deadline());
  if (accept_failures_ > 0) deadline = std::min(deadline, accept_resume_);
  if (node_paused_) deadline = std::min(deadline, node_paused_since_ + kNodeStallLimit);
  return deadline;
}

void LinkTable::reap() {
  std::erase_if(links_, [](const auto& l) { return l->conn->is_closed(); });
  std::erase_if(peers_, [](const auto& kv) { return kv.second.idle(); });
}

void LinkTable::shutdown() {
  stopping_ = true;
  // By name: what fail() runs (waiters, monitors firing) may add peers.
  std::vector<std::string> looking_up;
  for (const auto& [name, p] : peers_) {
    if (p.lookup) looking_up.push_back(name);
  }
  for (const auto& name : looking_up) {
    const auto it = peers_.find(name);
    if (it == peers_.end() || it->second.lookup == 0) continue;
    cancel_lookup(it->second);
    fail(name, it->second, make_error(Errc::not_connected, "the node is stopping"));
  }
  for (Link* l : snapshot()) {
    if (!l->conn->is_closed()) {
      l->conn->flush();
      l->conn->close(make_error(Errc::closed, "node stopping"));
    }
  }
  reap();
  stopping_ = false;
}

}  // namespace convoy::node
