// Node's process API: forwards to the process table (node/process_table.hpp).
#include "node/node_impl.hpp"

namespace convoy {

Pid Node::spawn(Mailbox mailbox, ProcessOptions options) {
  return impl_->processes.spawn(std::move(mailbox), options);
}

Result<Pid> Node::register_process(std::string name, Mailbox mailbox, ProcessOptions options) {
  return impl_->processes.register_process(std::move(name), std::move(mailbox), options);
}

void Node::exit_process(const Pid& pid, const Term& reason) { impl_->processes.exit(pid, reason); }

bool Node::is_alive(const Pid& pid) const { return impl_->processes.is_alive(pid); }

std::optional<Pid> Node::whereis(std::string_view name) const {
  return impl_->processes.whereis(std::string(name));
}

Ref Node::make_ref() { return impl_->processes.make_ref(); }

Status Node::link(const Pid& self, const Pid& other) { return impl_->processes.link(self, other); }

Status Node::unlink(const Pid& self, const Pid& other) {
  return impl_->processes.unlink(self, other);
}

Status Node::exit(const Pid& self, const Pid& to, const Term& reason) {
  return impl_->processes.send_exit(self, to, reason);
}

Ref Node::monitor(const Pid& watcher, const Pid& target) {
  return impl_->processes.monitor(watcher, Term::pid(target), target.node, Term::pid(target));
}

Ref Node::monitor(const Pid& watcher, const RegName& target) {
  const std::string node = target.node.empty() ? name().str() : target.node;
  return impl_->processes.monitor(watcher, Term::atom(target.name), node,
                                  Term::tuple({Term::atom(target.name), Term::atom(node)}));
}

void Node::demonitor(const Pid& watcher, const Ref& ref) {
  impl_->processes.demonitor(watcher, ref);
}

}  // namespace convoy
