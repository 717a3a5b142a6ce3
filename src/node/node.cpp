// Node: the event loop, links to other nodes, and the public API's entry points.
#include "convoy/node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "convoy/transport.hpp"
#include "node/node_impl.hpp"
#include "term/printed.hpp"

namespace convoy {
namespace {

std::uint32_t random_creation() {
  std::random_device rd;
  std::uint32_t c = 0;
  while (c < 4) c = rd();  // creations 0..3 are the small "old" ones; keep clear of them
  return c;
}

}  // namespace

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
  if (!options.transport) options.transport = tcp_transport();
  auto listener = options.transport->listen(options.listen_address, options.name.port());
  if (!listener) {
    return make_error(Errc::io_error, fmt::format("cannot listen on port {} (from the node name "
                                                  "{}): {}",
                                                  options.name.port(), options.name.str(),
                                                  listener.error().message));
  }
  static const SteadyClock steady;
  auto loop = node::EventLoop::create(options.clock ? *options.clock : steady);
  if (!loop) return loop.error();
  std::unique_ptr<Node> node(new Node(nullptr));
  node->impl_ = std::make_unique<Impl>(*node, std::move(options), std::move(*identity), creation,
                                       std::move(*listener), std::move(*loop));
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
  if (auto st = node->impl_->install_rex(); !st) return st.error();
  spdlog::info("node {} listening on {}:{} (creation {})", node->name().str(),
               node->impl_->options.listen_address, node->name().port(), creation);
  return node;
}

const NodeName& Node::name() const noexcept { return impl_->options.name; }
std::uint32_t Node::creation() const noexcept { return impl_->creation; }
const Clock& Node::clock() const noexcept { return impl_->loop->clock(); }

void Node::run() {
  while (!impl_->loop->stop_requested()) impl_->step();
  impl_->links.shutdown();
  impl_->loop->clear_stop();
}

bool Node::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && !impl_->loop->stop_requested() && std::chrono::steady_clock::now() < deadline) {
    impl_->step(impl_->loop->clock().now() + (deadline - std::chrono::steady_clock::now()));
  }
  return done();
}

void Node::stop() noexcept { impl_->loop->request_stop(); }

void Node::post(std::function<void(Node&)> task) {
  impl_->loop->post([this, task = std::move(task)] { task(*this); });
}

Status Node::stop_on_signals(std::initializer_list<int> signals) {
  return impl_->loop->stop_on_signals(signals);
}

Status Node::on_signals(std::initializer_list<int> signals,
                        std::function<void(Node& node, int signo)> handler) {
  return impl_->loop->on_signals(
      signals, [this, handler = std::move(handler)](int signo) { handler(*this, signo); });
}

std::uint64_t Node::after(std::chrono::milliseconds delay, std::function<void(Node&)> task) {
  return impl_->loop->after(impl_->loop->clock().now() + delay,
                            [this, task = std::move(task)] { task(*this); });
}
void Node::cancel_timer(std::uint64_t id) { impl_->loop->cancel(id); }

Status Node::send(const Pid& to, const Term& message) {
  if (to.node == name().str()) {
    impl_->processes.deliver(to, message);
    return {};
  }
  return impl_->route(to.node, dist::Send{to, std::nullopt, std::nullopt}, &message);
}

Status Node::send(const RegName& to, const Term& message, const std::optional<Pid>& from) {
  if (to.node.empty() || to.node == name().str()) {
    impl_->processes.deliver(to.name, message);
    return {};
  }
  return impl_->route(
      to.node, dist::RegSend{from.value_or(impl_->system_pid), to.name, std::nullopt}, &message);
}

Status Node::reply(const Term& from, const Term& reply) {
  if (!from.is_tuple(2) || !from.element(0)->is_pid()) {
    return make_error(Errc::invalid_argument,
                      fmt::format("not a gen_server From: {}", from.to_string(kLogTermChars)));
  }
  // The tag goes back exactly as it came, whether a ref or OTP 24+'s [alias | Ref].
  return send(*from.element(0)->as_pid(), Term::tuple({*from.element(1), reply}));
}

Status Node::cast(const RegName& to, const Term& request) {
  return send(to, Term::tuple({Term::atom("$gen_cast"), request}));
}

void Node::connect(const NodeName& peer, std::function<void(Status)> done) {
  impl_->links.connect(peer, std::move(done));
}

void Node::disconnect(std::string_view node) { impl_->links.disconnect(std::string(node)); }

bool Node::is_connected(std::string_view node) const {
  return impl_->links.is_connected(std::string(node));
}

std::vector<std::string> Node::connected_nodes() const { return impl_->links.connected(); }

NodeStats Node::stats() const {
  NodeStats s = impl_->links.stats();
  const NodeStats& c = impl_->counters;
  s.processes = impl_->processes.size();
  s.messages_in = c.messages_in;
  s.messages_out = c.messages_out;
  s.bytes_in = c.bytes_in;
  s.bytes_out = c.bytes_out;
  s.frames_over_decode_limit = c.frames_over_decode_limit;
  s.spoofed_frames = c.spoofed_frames;
  return s;
}

bool Node::accepting() const { return impl_->links.accepting(); }

void Node::watch_nodes(std::function<void(const std::string& node, bool up)> watcher) {
  impl_->watchers.push_back(std::move(watcher));
}

}  // namespace convoy
