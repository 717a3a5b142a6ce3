#include "convoy/services.hpp"

#include <spdlog/spdlog.h>

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
  if (auto r = node.register_process("c_node", gen_server_mailbox(std::move(c_node))); !r) {
    return r.error();
  }
  if (auto r = node.register_process("echo", echo); !r) return r.error();
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
