#include "convoy/services.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "convoy/clock.hpp"
#include "term/printed.hpp"

namespace convoy {
namespace {

// The connected nodes as a list of atoms, as erlang:nodes/0 returns them.
Term nodes_list(const Node& node) {
  std::vector<Term> names;
  for (const auto& n : node.connected_nodes()) names.push_back(Term::atom(n));
  return Term::list(std::move(names));
}

std::optional<Term> c_node_call(Node& node, const Term& request, const Term&) {
  if (request.is_atom("ping")) return Term::atom("pong");
  if (request.is_tuple(2) && request.element(0)->is_atom("echo")) return *request.element(1);
  if (request.is_atom("nodes")) return nodes_list(node);
  return Term::tuple({Term::atom("error"), Term::tuple({Term::atom("unknown_call"), request})});
}

void echo(Node& node, const Pid&, const Term& message) {
  if (message.is_tuple(2) && message.element(0)->is_pid()) {
    if (auto st = node.send(*message.element(0)->as_pid(), *message.element(1)); !st) {
      spdlog::warn("echo: cannot answer: {}", st.error().message);
    }
    return;
  }
  spdlog::debug("echo: ignoring {}", printed(message));
}

// Keeps one built-in registered under its name. Built-ins trap exits, so a broken link or
// an EXIT2 is only a message to them; `kill` cannot be trapped, and then the supervisor, a
// process no peer can name, starts it again. More than kMaxRestarts within kRestartWindow
// means something keeps killing it on purpose: the supervisor logs that and gives up.
class Supervisor {
 public:
  static constexpr int kMaxRestarts = 10;
  static constexpr std::chrono::seconds kRestartWindow{60};

  static Status start(Node& node, std::string name, Mailbox mailbox) {
    auto state = std::make_shared<Supervisor>(std::move(name), std::move(mailbox));
    state->self_ =
        node.spawn([state](Node& n, const Pid&, const Term& m) { state->on_message(n, m); });
    return state->start_child(node);
  }

  Supervisor(std::string name, Mailbox mailbox)
      : name_(std::move(name)), mailbox_(std::move(mailbox)) {}

 private:
  Status start_child(Node& node) {
    auto pid = node.register_process(name_, mailbox_, {.trap_exit = true});
    if (!pid) return pid.error();
    watch_ = node.monitor(self_, *pid);
    return {};
  }

  void on_message(Node& node, const Term& m) {
    if (!m.is_tuple(5) || !m.element(0)->is_atom("DOWN") || !m.element(1)->is_ref() ||
        *m.element(1)->as_ref() != watch_) {
      return;
    }
    const auto now = node.clock().now();
    std::erase_if(restarts_, [&](auto t) { return now - t > kRestartWindow; });
    if (static_cast<int>(restarts_.size()) >= kMaxRestarts) {
      spdlog::error("built-in {} ended ({}) {} times within {} s: not restarted again", name_,
                    printed(*m.element(4)), kMaxRestarts + 1, kRestartWindow.count());
      node.exit_process(self_, Term::atom("normal"));
      return;
    }
    restarts_.push_back(now);
    if (auto st = start_child(node); !st) {
      spdlog::error("built-in {} ended ({}) and cannot be restarted: {}", name_,
                    printed(*m.element(4)), st.error().message);
      return;
    }
    spdlog::warn("built-in {} ended ({}): restarted", name_, printed(*m.element(4)));
  }

  std::string name_;
  Mailbox mailbox_;
  Pid self_;
  Ref watch_;
  std::vector<Clock::time_point> restarts_;
};

}  // namespace

Status install_builtin_services(Node& node) {
  GenServer c_node;
  c_node.handle_call = c_node_call;
  c_node.handle_cast = [](Node& n, const Term& request) {
    // {echo, Pid, T}: T is sent to Pid, so a cast has an observable effect.
    if (request.is_tuple(3) && request.element(0)->is_atom("echo") &&
        request.element(1)->is_pid()) {
      if (auto st = n.send(*request.element(1)->as_pid(), *request.element(2)); !st) {
        spdlog::warn("c_node: cannot answer an echo cast: {}", st.error().message);
      }
      return;
    }
    spdlog::debug("c_node: ignoring cast {}", printed(request));
  };
  c_node.handle_info = [](Node&, const Term& info) {
    spdlog::debug("c_node: ignoring {}", printed(info));
  };
  if (auto st = Supervisor::start(node, "c_node", gen_server_mailbox(std::move(c_node))); !st) {
    return st;
  }
  if (auto st = Supervisor::start(node, "echo", echo); !st) return st;
  node.register_function("c_node", "echo", 1,
                         [](Node&, const std::vector<Term>& args) { return args[0]; });
  node.register_function("c_node", "ping", 0,
                         [](Node&, const std::vector<Term>&) { return Term::atom("pong"); });
  node.register_function("erlang", "node", 0, [](Node& n, const std::vector<Term>&) {
    return Term::atom(n.name().str());
  });
  node.register_function("erlang", "nodes", 0,
                         [](Node& n, const std::vector<Term>&) { return nodes_list(n); });
  return {};
}

}  // namespace convoy
