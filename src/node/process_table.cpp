#include "node/process_table.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "node/exception_reason.hpp"
#include "term/printed.hpp"

namespace convoy::node {
namespace {

Term atom(std::string_view a) { return Term::atom(a); }

Term down_message(const Ref& ref, const Term& object, const Term& reason) {
  return Term::tuple({atom("DOWN"), Term::ref(ref), atom("process"), object, reason});
}

}  // namespace

ProcessTable::ProcessTable(ei::Identity& identity, std::string node_name, std::uint32_t creation,
                           Env& env)
    : identity_(identity), node_name_(std::move(node_name)), creation_(creation), env_(env) {}

std::shared_ptr<ProcessTable::Process> ProcessTable::find(const Pid& p) const {
  if (!is_local(p)) return nullptr;
  const auto it = processes_.find({p.num, p.serial});
  return it == processes_.end() ? nullptr : it->second;
}

std::shared_ptr<ProcessTable::Process> ProcessTable::resolve(const Term& pid_or_name) const {
  if (const Pid* pid = pid_or_name.as_pid()) return find(*pid);
  if (const Atom* name = pid_or_name.as_atom()) {
    if (auto it = names_.find(name->name); it != names_.end()) return find(it->second);
  }
  return nullptr;
}

void ProcessTable::route(const std::string& node, const dist::ControlMessage& m) {
  // Sends never block and a link being set up queues; what fails here is a full queue or a
  // node that cannot be reached at all. Say so rather than lose the signal silently.
  if (auto st = env_.route(node, m); !st) {
    spdlog::warn("cannot send {} to {}: {}", dist::printed(m), node, st.error().message);
  }
}

// --- processes ----------------------------------------------------------------------------

Pid ProcessTable::spawn(Mailbox mailbox, ProcessOptions options) {
  Pid pid = identity_.make_pid();
  auto p = std::make_shared<Process>();
  p->mailbox = std::move(mailbox);
  p->trap_exit = options.trap_exit;
  processes_[{pid.num, pid.serial}] = std::move(p);
  return pid;
}

Result<Pid> ProcessTable::register_process(std::string name, Mailbox mailbox,
                                           ProcessOptions options) {
  if (name.empty()) return make_error(Errc::invalid_argument, "empty registered name");
  if (names_.contains(name)) {
    return make_error(Errc::invalid_argument, fmt::format("name '{}' is already registered", name));
  }
  Pid pid = spawn(std::move(mailbox), options);
  find(pid)->registered_name = name;
  names_.emplace(std::move(name), pid);
  return pid;
}

std::optional<Pid> ProcessTable::whereis(const std::string& name) const {
  if (auto it = names_.find(name); it != names_.end()) return it->second;
  return std::nullopt;
}

namespace {
// What OTP's crash reports leave out: normal ends and supervisor-style shutdowns.
bool is_normal_reason(const Term& reason) {
  if (reason.is_atom("normal") || reason.is_atom("shutdown")) return true;
  return reason.is_tuple(2) && reason.element(0)->is_atom("shutdown");
}
}  // namespace

std::string ProcessTable::describe(const Pid& pid, const Process& p) const {
  return p.registered_name.empty()
             ? Term::pid(pid).to_string()
             : fmt::format("{} ({})", Term::pid(pid).to_string(), p.registered_name);
}

void ProcessTable::exit(const Pid& pid, const Term& reason) {
  auto p = find(pid);
  if (!p) return;
  if (!is_normal_reason(reason) && exit_log_.allow()) {
    if (const auto n = exit_log_.take_suppressed()) {
      spdlog::warn("{} more process exit(s) with a non-normal reason were not logged", n);
    }
    spdlog::warn("process {} exited: {}", describe(pid, *p), printed(reason));
  }
  end(pid, p, reason);
}

void ProcessTable::end(const Pid& pid, const std::shared_ptr<Process>& p, const Term& reason) {
  // Gone from the tables first, so signals that come back to it find nothing.
  processes_.erase({pid.num, pid.serial});
  if (!p->registered_name.empty()) names_.erase(p->registered_name);

  for (const Pid& other : p->links) {
    if (is_local(other)) {
      if (auto o = find(other); o && o->links.erase(pid) > 0) exit_signal(other, pid, reason, true);
    } else {
      release(other.node);
      route(other.node, dist::Exit{pid, other, reason, std::nullopt});
    }
  }
  for (const auto& [ref, watch] : p->monitored_by) {
    if (is_local(watch.watcher)) {
      if (auto w = find(watch.watcher)) w->monitoring.erase(ref);
      down(watch.watcher, ref, watch.object, reason);
    } else {
      release(watch.watcher.node);
      route(watch.watcher.node, dist::MonitorPExit{watch.object, watch.watcher, ref, reason});
    }
  }
  for (const auto& [ref, target] : p->monitoring) {
    if (auto t = find(target)) t->monitored_by.erase(ref);
  }
  std::vector<std::pair<Ref, RemoteMonitor>> held;
  for (auto it = remote_monitors_.begin(); it != remote_monitors_.end();) {
    if (it->second.watcher == pid) {
      held.emplace_back(it->first, std::move(it->second));
      it = remote_monitors_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [ref, m] : held) route(m.node, dist::DemonitorP{pid, m.target, ref});
}

void ProcessTable::exit_signal(const Pid& to, const Pid& from, const Term& reason, bool via_link) {
  auto p = find(to);
  if (!p) return;
  if (!via_link && reason.is_atom("kill")) return exit(to, atom("killed"));
  if (p->trap_exit) return deliver(to, Term::tuple({atom("EXIT"), Term::pid(from), reason}));
  if (reason.is_atom("normal")) return;
  exit(to, reason);
}

// --- messages -----------------------------------------------------------------------------

void ProcessTable::deliver(const Pid& to, const Term& message) {
  if (!find(to)) return;  // as in Erlang, a send to a dead pid vanishes
  queue_.emplace_back(to, message);
}

void ProcessTable::deliver(const std::string& name, const Term& message) {
  if (auto it = names_.find(name); it != names_.end()) deliver(it->second, message);
}

bool ProcessTable::drain(const Runner& run) {
  // Only what is queued now: handlers that message each other cannot starve the sockets.
  const bool any = !queue_.empty();
  for (std::size_t n = queue_.size(); n > 0 && !queue_.empty(); --n) {
    auto [pid, msg] = std::move(queue_.front());
    queue_.pop_front();
    auto p = find(pid);
    if (!p) continue;
    try {
      run(p->mailbox, pid, msg);
    } catch (...) {
      crashed(pid, p, caught_exception_text());
    }
  }
  return any;
}

void ProcessTable::crashed(const Pid& pid, const std::shared_ptr<Process>& p,
                           const std::string& what) {
  // As an Erlang process's error ends it alone: the node and every other process go on.
  spdlog::error("process {} crashed: its handler threw: {}", describe(pid, *p), what);
  if (find(pid)) end(pid, p, cpp_exception_reason(what));
}

// --- signals between processes ------------------------------------------------------------

Status ProcessTable::link(const Pid& self, const Pid& other) {
  auto p = find(self);
  if (!p) return make_error(Errc::noproc, "link: the calling process is not alive");
  if (is_local(other)) {
    auto o = find(other);
    if (!o) {
      exit_signal(self, other, atom("noproc"), true);
      return {};
    }
    p->links.insert(other);
    o->links.insert(self);
    return {};
  }
  if (p->links.insert(other).second) hold(other.node, false);
  return env_.route(other.node, dist::Link{self, other});
}

Status ProcessTable::unlink(const Pid& self, const Pid& other) {
  auto p = find(self);
  if (!p) return make_error(Errc::noproc, "unlink: the calling process is not alive");
  if (p->links.erase(other) == 0) return {};
  if (is_local(other)) {
    if (auto o = find(other)) o->links.erase(self);
    return {};
  }
  release(other.node);
  return env_.route(other.node, dist::UnlinkId{Term::integer(next_unlink_id_++), self, other});
}

Status ProcessTable::send_exit(const Pid& self, const Pid& to, const Term& reason) {
  if (is_local(to)) {
    exit_signal(to, self, reason, false);
    return {};
  }
  return env_.route(to.node, dist::Exit2{self, to, reason, std::nullopt});
}

void ProcessTable::down(const Pid& watcher, const Ref& ref, const Term& object,
                        const Term& reason) {
  deliver(watcher, down_message(ref, object, reason));
}

Ref ProcessTable::monitor(const Pid& watcher, const Term& target, const std::string& node,
                          Term object) {
  Ref ref = identity_.make_ref();
  if (node == node_name_) {
    auto w = find(watcher);
    auto t = resolve(target);
    if (!t || !w) {
      down(watcher, ref, object, atom("noproc"));
      return ref;
    }
    const Pid target_pid = target.is_pid() ? *target.as_pid() : names_.at(target.as_atom()->name);
    t->monitored_by.emplace(ref, Watch{watcher, std::move(object)});
    w->monitoring.emplace(ref, target_pid);
    return ref;
  }
  remote_monitors_.emplace(ref, RemoteMonitor{watcher, node, target, object});
  if (auto st = env_.route(node, dist::MonitorP{watcher, target, ref}); !st) {
    // No way to reach the node (a malformed name, a full queue): the monitor fires at once.
    remote_monitors_.erase(ref);
    down(watcher, ref, object, atom("noconnection"));
  }
  return ref;
}

void ProcessTable::demonitor(const Pid& watcher, const Ref& ref) {
  if (auto it = remote_monitors_.find(ref); it != remote_monitors_.end()) {
    if (it->second.watcher != watcher) return;
    const RemoteMonitor m = std::move(it->second);
    remote_monitors_.erase(it);
    route(m.node, dist::DemonitorP{watcher, m.target, ref});
    return;
  }
  auto w = find(watcher);
  if (!w) return;
  if (auto it = w->monitoring.find(ref); it != w->monitoring.end()) {
    if (auto t = find(it->second)) t->monitored_by.erase(ref);
    w->monitoring.erase(it);
  }
}

// --- what peers ask for -------------------------------------------------------------------

void ProcessTable::remote_link(const std::string& peer, const Pid& from, const Pid& to) {
  if (auto p = find(to)) {
    if (p->links.contains(from)) return;
    if (!hold(from.node, true)) {
      route(peer, dist::Exit{to, from, atom("system_limit"), std::nullopt});
      return;
    }
    p->links.insert(from);
    return;
  }
  // Linking to a process that does not exist: the linker learns at once, as on BEAM.
  route(peer, dist::Exit{to, from, atom("noproc"), std::nullopt});
}

void ProcessTable::remote_unlink(const Pid& from, const Pid& to) {
  if (auto p = find(to); p && p->links.erase(from) > 0) release(from.node);
}

void ProcessTable::remote_exit(const Pid& from, const Pid& to, const Term& reason, bool via_link) {
  if (via_link) {
    auto p = find(to);
    if (!p || p->links.erase(from) == 0) return;  // not (or no longer) linked
    release(from.node);
  }
  exit_signal(to, from, reason, via_link);
}

void ProcessTable::remote_monitor(const std::string& peer, const Pid& from, const Term& target,
                                  const Ref& ref) {
  if (auto p = resolve(target)) {
    if (p->monitored_by.contains(ref)) return;
    if (!hold(from.node, true)) {
      route(peer, dist::MonitorPExit{target, from, ref, atom("system_limit")});
      return;
    }
    p->monitored_by.emplace(ref, Watch{from, target});
    return;
  }
  route(peer, dist::MonitorPExit{target, from, ref, atom("noproc")});
}

void ProcessTable::remote_demonitor(const Term& target, const Ref& ref) {
  auto p = resolve(target);
  if (!p) return;
  if (const auto it = p->monitored_by.find(ref); it != p->monitored_by.end()) {
    release(it->second.watcher.node);
    p->monitored_by.erase(it);
  }
}

bool ProcessTable::hold(const std::string& node, bool enforce) {
  std::size_t& n = holds_[node];
  if (enforce && n >= max_holds_per_node_) {
    ++refused_holds_;
    if (hold_log_.allow()) {
      spdlog::warn(
          "{} holds {} links and monitors on this node's processes (the most allowed): "
          "refusing more with system_limit, {} so far",
          node, n, refused_holds_);
    }
    return false;
  }
  ++n;
  return true;
}

void ProcessTable::release(const std::string& node) {
  const auto it = holds_.find(node);
  if (it == holds_.end()) return;
  if (--it->second == 0) holds_.erase(it);
}

std::size_t ProcessTable::holds_of(const std::string& node) const {
  const auto it = holds_.find(node);
  return it == holds_.end() ? 0 : it->second;
}

void ProcessTable::monitor_fired(const Pid& watcher, const Ref& ref, const Term& reason) {
  if (auto it = remote_monitors_.find(ref);
      it != remote_monitors_.end() && it->second.watcher == watcher) {
    const RemoteMonitor m = std::move(it->second);
    remote_monitors_.erase(it);
    down(m.watcher, ref, m.object, reason);
  }
}

void ProcessTable::node_lost(const std::string& node) {
  const Term noconnection = atom("noconnection");
  for (auto it = remote_monitors_.begin(); it != remote_monitors_.end();) {
    if (it->second.node == node) {
      const RemoteMonitor m = std::move(it->second);
      const Ref ref = it->first;
      it = remote_monitors_.erase(it);
      down(m.watcher, ref, m.object, noconnection);
    } else {
      ++it;
    }
  }
  // Snapshot: exit signals below may end processes and change the table.
  std::vector<std::pair<Pid, std::shared_ptr<Process>>> all;
  all.reserve(processes_.size());
  for (const auto& [key, p] : processes_) {
    all.emplace_back(Pid{node_name_, key.first, key.second, creation_}, p);
  }
  holds_.erase(node);  // everything it held goes below
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

}  // namespace convoy::node
