// Node::Impl: how the parts are wired, and one turn of the event loop.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "convoy/transport.hpp"
#include "dist/dist_flags.hpp"
#include "node/exception_reason.hpp"
#include "node/node_impl.hpp"

namespace convoy {
namespace {

node::LinkTableOptions link_options(const NodeOptions& o, std::uint32_t creation,
                                    std::mt19937& rng) {
  return {.handshake = {o.name.str(), o.cookie, dist::kOurFlags, creation},
          .timeouts = {o.setup_timeout,
                       std::chrono::duration_cast<std::chrono::milliseconds>(o.net_ticktime)},
          .random = [&rng] { return static_cast<std::uint32_t>(rng()); },
          .max_pending_per_peer = o.limits.max_pending_per_peer,
          .max_pending_bytes_per_peer = o.limits.max_pending_bytes_per_peer,
          .max_inbound_handshakes = o.limits.max_inbound_handshakes,
          .max_dials = o.limits.max_dials,
          .connection = {.max_frame = o.limits.max_frame_bytes,
                         .max_backlog = o.limits.max_link_backlog},
          .link_output_high_water = o.limits.link_output_high_water,
          .node_output_high_water = o.limits.node_output_high_water};
}

}  // namespace

Node::Impl::Impl(Node& self, NodeOptions opts, ei::Identity id, std::uint32_t cr,
                 std::unique_ptr<Listener> l, std::unique_ptr<node::EventLoop> event_loop)
    : node(self),
      options(std::move(opts)),
      identity(std::move(id)),
      creation(cr),
      listener(std::move(l)),
      loop(std::move(event_loop)),
      rng(std::random_device{}()),
      system_pid(identity.make_pid()),
      resolver(*loop,
               [transport = options.transport](const std::string& host) {
                 return transport->lookup(host);
               },
               {}),
      links(link_options(options, creation, rng), *loop, *listener,
            {.connect = [transport = options.transport](
                            const std::string& address,
                            std::uint16_t port) { return transport->connect(address, port); },
             .needs_lookup = [transport = options.transport](
                                 const std::string& host) { return transport->needs_lookup(host); },
             .lookup =
                 [this](const std::string& host, std::function<void(Result<std::string>)> done) {
                   resolver.resolve(host, std::move(done));
                 }},
            *this),
      processes(identity, options.name.str(), creation, *this) {
  processes.set_max_holds_per_node(options.limits.max_holds_per_node);
}

void Node::Impl::notify_watchers(const std::string& peer, bool up) {
  // A copy: a watcher may add watchers. One that throws must not cut the link table's walk
  // short (it runs from inside one) or keep the others from hearing.
  for (auto& w : std::vector(watchers)) {
    try {
      w(peer, up);
    } catch (...) {
      spdlog::error("a node watcher threw on {} {}: {}", peer, up ? "up" : "down",
                    node::caught_exception_text());
    }
  }
}

void Node::Impl::on_link_up(const std::string& peer) { notify_watchers(peer, true); }

void Node::Impl::on_link_down(const std::string& peer) {
  spoof_reported.erase(peer);
  processes.node_lost(peer);
  notify_watchers(peer, false);
}

void Node::Impl::on_unreachable(const std::string& peer) { processes.node_lost(peer); }

void Node::Impl::on_frame(const std::string& peer, std::span<const std::uint8_t> body) {
  ++counters.messages_in;
  counters.bytes_in += body.size();
  auto frame = dist::decode_frame(
      body, {.max_depth = kMaxDecodeDepth, .max_bytes = options.limits.max_decoded_bytes});
  if (!frame) {
    if (frame.error().code == make_error_code(Errc::limit_exceeded)) {
      // Dropping it would lose a message without the peer knowing; closing the link tells
      // the peer's processes (nodedown, noconnection) and protects the node's memory.
      ++counters.frames_over_decode_limit;
      links.close(peer, make_error(Errc::limit_exceeded,
                                   fmt::format("{} sent a message over the decode limit: {}", peer,
                                               frame.error().message)));
      return;
    }
    spdlog::warn("dropping a frame from {}: {}", peer, frame.error().message);
    return;
  }
  dispatch(peer, *frame);
}

Status Node::Impl::route(const std::string& to, const dist::ControlMessage& m,
                         const Term* payload) {
  // route() may run again from inside links.send() (a link closing fires signals); the
  // bytes are copied out before that can happen, so one buffer serves both.
  scratch.clear();
  dist::encode(m, scratch, payload);
  const std::size_t bytes = scratch.size();
  auto st = links.send(to, scratch);
  if (st) {
    ++counters.messages_out;
    counters.bytes_out += bytes;
  }
  return st;
}

int Node::Impl::poll_timeout_ms(Clock::time_point until) {
  if (processes.has_messages() || loop->stop_requested() || loop->has_posted()) return 0;
  auto deadline = std::min(until, links.next_deadline());
  if (auto t = loop->next_timer()) deadline = std::min(deadline, *t);
  if (deadline == Clock::time_point::max()) return 1000;
  const auto now = loop->clock().now();
  if (deadline <= now) return 0;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
  return static_cast<int>(std::min<long long>(ms, 1000));
}

void Node::Impl::step(Clock::time_point until) {
  // Each must run every turn: no short-circuit. After doing work, only peek at the sockets:
  // the work may have satisfied a run_until condition, or produced more.
  const bool ran_tasks = loop->run_posted();
  const bool ran_messages = processes.drain(
      [this](const Mailbox& mailbox, const Pid& to, const Term& msg) { mailbox(node, to, msg); });
  const bool ran_timers = loop->run_due_timers();
  links.on_timers();
  const bool busy = ran_tasks || ran_messages || ran_timers;
  links.flush_all();
  links.reap();

  fds.clear();
  loop->add_fds(fds);
  const std::size_t own = fds.size();
  // A negative fd is skipped by poll(): the listener rests while accepts are paused.
  fds.push_back({links.accepting() ? listener->fd() : -1, POLLIN, 0});
  links.add_fds(fds);
  const int n = ::poll(fds.data(), fds.size(), busy ? 0 : poll_timeout_ms(until));
  if (n < 0) {
    if (errno != EINTR) spdlog::error("poll failed: {}", std::strerror(errno));
    return;
  }
  if (n == 0) return;
  const std::span<const pollfd> all(fds);
  loop->handle(all.first(own));
  links.dispatch(all.subspan(own + 1));
  if (fds[own].revents & POLLIN) links.accept_pending();
  links.flush_all();
}

}  // namespace convoy
