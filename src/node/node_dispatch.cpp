// Node: what each incoming distribution control message does.
#include "node/node_impl.hpp"

namespace convoy {
namespace {

const Pid* pid_at(const Term& t, std::size_t i) {
  const Term* e = t.element(i);
  return e ? e->as_pid() : nullptr;
}
const Ref* ref_at(const Term& t, std::size_t i) {
  const Term* e = t.element(i);
  return e ? e->as_ref() : nullptr;
}

}  // namespace

void Node::Impl::dispatch(const std::string& peer, const Term& control,
                          const std::optional<Term>& payload) {
  const std::int64_t* op =
      control.is_tuple() && control.element(0) ? control.element(0)->as_integer() : nullptr;
  if (!op) {
    spdlog::warn("dropping a malformed control message from {}: {}", peer, control.to_string());
    return;
  }
  const auto arity = control.elements().size();
  switch (*op) {
    case dist::op::kSend:          // {2, Unused, ToPid}
    case dist::op::kSendTT:        // {12, Unused, ToPid, Token}
    case dist::op::kSendSender:    // {22, FromPid, ToPid}
    case dist::op::kSendSenderTT:  // {23, FromPid, ToPid, Token}
      if (const Pid* to = pid_at(control, 2); to && payload) return deliver(*to, *payload);
      break;
    case dist::op::kRegSend:    // {6, FromPid, Unused, ToName}
    case dist::op::kRegSendTT:  // {16, FromPid, Unused, ToName, Token}
      if (const Term* to = control.element(3); to && to->is_atom() && payload) {
        if (auto it = names.find(to->as_atom()->name); it != names.end()) {
          deliver(it->second, *payload);
        } else {
          spdlog::debug("{} sent to unregistered name {}", peer, to->to_string());
        }
        return;
      }
      break;
    case dist::op::kLink:  // {1, FromPid, ToPid}
      if (const Pid* from = pid_at(control, 1), *to = pid_at(control, 2); from && to) {
        return remote_link(peer, *from, *to);
      }
      break;
    case dist::op::kUnlinkId:  // {35, Id, FromPid, ToPid} -> ack {36, Id, ToPid, FromPid}
      if (const Pid* from = pid_at(control, 2), *to = pid_at(control, 3);
          arity == 4 && from && to) {
        if (auto p = find_process(*to)) p->links.erase(*from);
        reply_control(peer, Term::tuple({Term::integer(dist::op::kUnlinkIdAck), *control.element(1),
                                         *control.element(3), *control.element(2)}));
        return;
      }
      break;
    case dist::op::kUnlink:  // {4, FromPid, ToPid}: pre-UNLINK_ID peers
      if (const Pid* from = pid_at(control, 1), *to = pid_at(control, 2); from && to) {
        if (auto p = find_process(*to)) p->links.erase(*from);
        return;
      }
      break;
    case dist::op::kUnlinkIdAck:
      return;                // our unlink took effect on our side already
    case dist::op::kExit:    // {3, FromPid, ToPid, Reason}: a linked process ended
    case dist::op::kExitTT:  // {13, FromPid, ToPid, Token, Reason}
    case dist::op::kExit2:   // {8, FromPid, ToPid, Reason}: exit/2
    case dist::op::kExit2TT: {
      const Pid *from = pid_at(control, 1), *to = pid_at(control, 2);
      if (!from || !to || arity < 4) break;
      const bool via_link = *op == dist::op::kExit || *op == dist::op::kExitTT;
      if (via_link) {
        auto p = find_process(*to);
        if (!p || p->links.erase(*from) == 0) return;  // not (or no longer) linked
      }
      return exit_signal(*to, *from, *control.element(arity - 1), via_link);
    }
    case dist::op::kMonitorP:  // {19, FromPid, ToProc, Ref}
      if (const Pid* from = pid_at(control, 1); from && arity == 4 && ref_at(control, 3)) {
        return remote_monitor(peer, *from, *control.element(2), *ref_at(control, 3));
      }
      break;
    case dist::op::kDemonitorP:  // {20, FromPid, ToProc, Ref}
      if (arity == 4 && ref_at(control, 3)) {
        return remote_demonitor(*control.element(2), *ref_at(control, 3));
      }
      break;
    case dist::op::kMonitorPExit: {  // {21, FromProc, ToPid, Ref, Reason}
      const Pid* to = pid_at(control, 2);
      const Ref* ref = ref_at(control, 3);
      if (!to || !ref || arity != 5) break;
      if (auto it = remote_monitors.find(*ref);
          it != remote_monitors.end() && it->second.watcher == *to) {
        const RemoteMonitor m = std::move(it->second);
        remote_monitors.erase(it);
        down(m.watcher, *ref, m.object, *control.element(4));
      }
      return;
    }
    case dist::op::kSpawnRequest:    // {29, ReqId, From, GroupLeader, {M, F, A}, Opts}
    case dist::op::kSpawnRequestTT:  // ... plus Token
      return spawn_request(peer, control, payload);
    case dist::op::kGroupLeader:
      return;  // our processes do no I/O through a group leader
    default:
      break;
  }
  spdlog::warn("dropping unsupported or malformed control message from {}: {}", peer,
               control.to_string());
}

}  // namespace convoy
