// Node::Impl::dispatch: what each control message a peer sends does, once decode_frame()
// has checked its shape. One case per message type, each a call into a table.
#include <spdlog/spdlog.h>

#include <variant>

#include "node/node_impl.hpp"

namespace convoy {

void Node::Impl::dispatch(const std::string& peer, const dist::Frame& frame) {
  // A link speaks for its own node's processes only, as BEAM requires: otherwise any peer
  // could kill, link to or monitor our processes on behalf of a node it is not, and leave
  // state behind for nodes it will never be asked about.
  if (const Pid* from = dist::sender(frame.control); from && from->node != peer) {
    ++counters.spoofed_frames;
    if (spoof_reported.insert(peer).second) {
      spdlog::warn(
          "{} sent {} on behalf of {}, a process of another node: dropped (further such frames "
          "on this link are dropped without a line)",
          peer, dist::printed(frame.control), Term::pid(*from).to_string());
    }
    return;
  }
  struct Visitor {
    Node::Impl& n;
    const std::string& peer;
    const std::optional<Term>& payload;

    void operator()(const dist::Send& s) const { n.processes.deliver(s.to, *payload); }
    void operator()(const dist::RegSend& s) const {
      if (!n.processes.whereis(s.to_name)) {
        spdlog::debug("{} sent to unregistered name {}", peer, s.to_name);
        return;
      }
      n.processes.deliver(s.to_name, *payload);
    }
    void operator()(const dist::Link& l) const { n.processes.remote_link(peer, l.from, l.to); }
    void operator()(const dist::UnlinkId& u) const {
      n.processes.remote_unlink(u.from, u.to);
      if (auto st = n.route(peer, dist::UnlinkIdAck{u.id, u.to, u.from}); !st) {
        spdlog::warn("cannot acknowledge an unlink to {}: {}", peer, st.error().message);
      }
    }
    void operator()(const dist::Unlink& u) const { n.processes.remote_unlink(u.from, u.to); }
    // Our unlink took effect on our side already.
    void operator()(const dist::UnlinkIdAck&) const {}
    void operator()(const dist::Exit& e) const {
      n.processes.remote_exit(e.from, e.to, e.reason, true);
    }
    void operator()(const dist::Exit2& e) const {
      n.processes.remote_exit(e.from, e.to, e.reason, false);
    }
    void operator()(const dist::MonitorP& m) const {
      n.processes.remote_monitor(peer, m.from, m.to, m.ref);
    }
    void operator()(const dist::DemonitorP& m) const { n.processes.remote_demonitor(m.to, m.ref); }
    void operator()(const dist::MonitorPExit& m) const {
      n.processes.monitor_fired(m.to, m.ref, m.reason);
    }
    void operator()(const dist::SpawnRequest& s) const { n.spawn_request(peer, s, *payload); }
    // Our processes do no I/O through a group leader.
    void operator()(const dist::GroupLeader&) const {}
    void operator()(const dist::SpawnReply& s) const {
      spdlog::debug("{} sent a spawn reply for a request we never made: {}", peer,
                    dist::printed(dist::ControlMessage(s)));
    }
  };
  std::visit(Visitor{*this, peer, frame.payload}, frame.control);
}

}  // namespace convoy
