// Node: local processes and the signals between them and remote ones — links, monitors and
// exit signals, with Erlang's semantics.
#include "node/node_impl.hpp"

namespace convoy {
namespace {

Term down_message(const Ref& ref, const Term& object, const Term& reason) {
  return Term::tuple({atom("DOWN"), Term::ref(ref), atom("process"), object, reason});
}

}  // namespace

Pid Node::Impl::spawn(Mailbox mailbox, ProcessOptions options) {
  Pid pid = identity.make_pid();
  auto p = std::make_shared<Process>();
  p->mailbox = std::move(mailbox);
  p->trap_exit = options.trap_exit;
  processes[{pid.num, pid.serial}] = std::move(p);
  return pid;
}

std::shared_ptr<Node::Impl::Process> Node::Impl::resolve(const Term& pid_or_name) const {
  if (const Pid* pid = pid_or_name.as_pid()) return find_process(*pid);
  if (const Atom* name = pid_or_name.as_atom()) {
    if (auto it = names.find(name->name); it != names.end()) return find_process(it->second);
  }
  return nullptr;
}

void Node::Impl::exit_process(const Pid& pid, const Term& reason) {
  auto p = find_process(pid);
  if (!p) return;
  // Gone from the tables first, so signals that come back to it find nothing.
  processes.erase({pid.num, pid.serial});
  if (!p->registered_name.empty()) names.erase(p->registered_name);

  for (const Pid& other : p->links) {
    if (is_local(other)) {
      if (auto o = find_process(other); o && o->links.erase(pid) > 0) {
        exit_signal(other, pid, reason, true);
      }
    } else {
      (void)route(other.node, Term::tuple({Term::integer(dist::op::kExit), Term::pid(pid),
                                           Term::pid(other), reason}));
    }
  }
  for (const auto& [ref, watch] : p->monitored_by) {
    if (is_local(watch.watcher)) {
      if (auto w = find_process(watch.watcher)) w->monitoring.erase(ref);
      down(watch.watcher, ref, watch.object, reason);
    } else {
      (void)route(watch.watcher.node,
                  Term::tuple({Term::integer(dist::op::kMonitorPExit), watch.object,
                               Term::pid(watch.watcher), Term::ref(ref), reason}));
    }
  }
  for (const auto& [ref, target] : p->monitoring) {
    if (auto t = find_process(target)) t->monitored_by.erase(ref);
  }
  for (auto it = remote_monitors.begin(); it != remote_monitors.end();) {
    if (it->second.watcher == pid) {
      (void)route(it->second.node,
                  Term::tuple({Term::integer(dist::op::kDemonitorP), Term::pid(pid),
                               it->second.target, Term::ref(it->first)}));
      it = remote_monitors.erase(it);
    } else {
      ++it;
    }
  }
}

void Node::Impl::exit_signal(const Pid& to, const Pid& from, const Term& reason, bool via_link) {
  auto p = find_process(to);
  if (!p) return;
  if (!via_link && reason.is_atom("kill")) return exit_process(to, atom("killed"));
  if (p->trap_exit) {
    return deliver(to, Term::tuple({atom("EXIT"), Term::pid(from), reason}));
  }
  if (reason.is_atom("normal")) return;
  exit_process(to, reason);
}

void Node::Impl::down(const Pid& watcher, const Ref& ref, const Term& object, const Term& reason) {
  deliver(watcher, down_message(ref, object, reason));
}

Ref Node::Impl::monitor(const Pid& watcher, const Term& target, const std::string& node,
                        Term object) {
  Ref ref = identity.make_ref();
  if (node == options.name.str()) {
    auto w = find_process(watcher);
    auto t = resolve(target);
    if (!t || !w) {
      down(watcher, ref, object, atom("noproc"));
      return ref;
    }
    const Pid target_pid = target.is_pid() ? *target.as_pid() : names.at(target.as_atom()->name);
    t->monitored_by.emplace(ref, Watch{watcher, std::move(object)});
    w->monitoring.emplace(ref, target_pid);
    return ref;
  }
  remote_monitors.emplace(ref, RemoteMonitor{watcher, node, target, std::move(object)});
  const Term msg =
      Term::tuple({Term::integer(dist::op::kMonitorP), Term::pid(watcher), target, Term::ref(ref)});
  if (auto st = route(node, msg); !st) {
    // No way to reach the node (a malformed name): the monitor fires at once.
    auto it = remote_monitors.find(ref);
    const Term obj = it->second.object;
    remote_monitors.erase(it);
    down(watcher, ref, obj, atom("noconnection"));
  }
  return ref;
}

void Node::Impl::demonitor(const Pid& watcher, const Ref& ref) {
  if (auto it = remote_monitors.find(ref); it != remote_monitors.end()) {
    if (it->second.watcher != watcher) return;
    (void)route(it->second.node,
                Term::tuple({Term::integer(dist::op::kDemonitorP), Term::pid(watcher),
                             it->second.target, Term::ref(ref)}));
    remote_monitors.erase(it);
    return;
  }
  auto w = find_process(watcher);
  if (!w) return;
  if (auto it = w->monitoring.find(ref); it != w->monitoring.end()) {
    if (auto t = find_process(it->second)) t->monitored_by.erase(ref);
    w->monitoring.erase(it);
  }
}

void Node::Impl::node_lost(const std::string& node) {
  const Term noconnection = atom("noconnection");
  for (auto it = remote_monitors.begin(); it != remote_monitors.end();) {
    if (it->second.node == node) {
      const RemoteMonitor m = std::move(it->second);
      const Ref ref = it->first;
      it = remote_monitors.erase(it);
      down(m.watcher, ref, m.object, noconnection);
    } else {
      ++it;
    }
  }
  // Snapshot: exit signals below may end processes and change the table.
  std::vector<std::pair<Pid, std::shared_ptr<Process>>> all;
  for (const auto& [key, p] : processes) {
    all.emplace_back(Pid{options.name.str(), key.first, key.second, creation}, p);
  }
  for (auto& [pid, p] : all) {
    std::erase_if(p->monitored_by, [&](const auto& kv) { return kv.second.watcher.node == node; });
    std::vector<Pid> lost;
    for (const Pid& l : p->links) {
      if (l.node == node) lost.push_back(l);
    }
    for (const Pid& l : lost) {
      p->links.erase(l);
      exit_signal(pid, l, noconnection, true);
    }
  }
}

void Node::Impl::remote_monitor(const std::string& peer, const Pid& from, const Term& target,
                                const Ref& ref) {
  if (auto p = resolve(target)) {
    p->monitored_by.emplace(ref, Watch{from, target});
    return;
  }
  reply_control(peer, Term::tuple({Term::integer(dist::op::kMonitorPExit), target, Term::pid(from),
                                   Term::ref(ref), atom("noproc")}));
}

void Node::Impl::remote_demonitor(const Term& target, const Ref& ref) {
  if (auto p = resolve(target)) p->monitored_by.erase(ref);
}

void Node::Impl::remote_link(const std::string& peer, const Pid& from, const Pid& to) {
  if (auto p = find_process(to)) {
    p->links.insert(from);
    return;
  }
  // Linking to a process that does not exist: the linker learns at once, as on BEAM.
  reply_control(peer, Term::tuple({Term::integer(dist::op::kExit), Term::pid(to), Term::pid(from),
                                   atom("noproc")}));
}

// --- Node API -----------------------------------------------------------------------------

Pid Node::spawn(Mailbox mailbox, ProcessOptions options) {
  return impl_->spawn(std::move(mailbox), options);
}

Result<Pid> Node::register_process(std::string name, Mailbox mailbox, ProcessOptions options) {
  if (name.empty()) return make_error(Errc::invalid_argument, "empty registered name");
  if (impl_->names.contains(name)) {
    return make_error(Errc::invalid_argument, fmt::format("name '{}' is already registered", name));
  }
  Pid pid = impl_->spawn(std::move(mailbox), options);
  impl_->find_process(pid)->registered_name = name;
  impl_->names.emplace(std::move(name), pid);
  return pid;
}

void Node::exit_process(const Pid& pid, const Term& reason) { impl_->exit_process(pid, reason); }

bool Node::is_alive(const Pid& pid) const { return impl_->find_process(pid) != nullptr; }

std::optional<Pid> Node::whereis(std::string_view name) const {
  if (auto it = impl_->names.find(std::string(name)); it != impl_->names.end()) return it->second;
  return std::nullopt;
}

Ref Node::make_ref() { return impl_->identity.make_ref(); }

Status Node::link(const Pid& self, const Pid& other) {
  auto p = impl_->find_process(self);
  if (!p) return make_error(Errc::noproc, "link: the calling process is not alive");
  if (impl_->is_local(other)) {
    auto o = impl_->find_process(other);
    if (!o) {
      impl_->exit_signal(self, other, atom("noproc"), true);
      return {};
    }
    p->links.insert(other);
    o->links.insert(self);
    return {};
  }
  p->links.insert(other);
  return impl_->route(
      other.node, Term::tuple({Term::integer(dist::op::kLink), Term::pid(self), Term::pid(other)}));
}

Status Node::unlink(const Pid& self, const Pid& other) {
  auto p = impl_->find_process(self);
  if (!p) return make_error(Errc::noproc, "unlink: the calling process is not alive");
  if (p->links.erase(other) == 0) return {};
  if (impl_->is_local(other)) {
    if (auto o = impl_->find_process(other)) o->links.erase(self);
    return {};
  }
  return impl_->route(other.node, Term::tuple({Term::integer(dist::op::kUnlinkId),
                                               Term::integer(impl_->next_unlink_id++),
                                               Term::pid(self), Term::pid(other)}));
}

Status Node::exit(const Pid& self, const Pid& to, const Term& reason) {
  if (impl_->is_local(to)) {
    impl_->exit_signal(to, self, reason, false);
    return {};
  }
  return impl_->route(to.node, Term::tuple({Term::integer(dist::op::kExit2), Term::pid(self),
                                            Term::pid(to), reason}));
}

Ref Node::monitor(const Pid& watcher, const Pid& target) {
  return impl_->monitor(watcher, Term::pid(target), target.node, Term::pid(target));
}

Ref Node::monitor(const Pid& watcher, const RegName& target) {
  const std::string node = target.node.empty() ? name().str() : target.node;
  return impl_->monitor(watcher, Term::atom(target.name), node,
                        Term::tuple({Term::atom(target.name), Term::atom(node)}));
}

void Node::demonitor(const Pid& watcher, const Ref& ref) { impl_->demonitor(watcher, ref); }

}  // namespace convoy
