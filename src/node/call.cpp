// Node::call: gen_server:call from C++, the way gen:call does it — monitor the server,
// send {'$gen_call', {Self, MonitorRef}, Request}, and wait for {MonitorRef, Reply}, the
// monitor's 'DOWN' (noproc / noconnection / the server's exit reason) or the timeout.
#include <fmt/format.h>

#include "convoy/node.hpp"
#include "term/printed.hpp"

namespace convoy {

namespace {

Error call_error(const Term& reason, const std::string& target) {
  if (reason.is_atom("noproc")) {
    return make_error(Errc::noproc, fmt::format("call to {}: no such process", target));
  }
  if (reason.is_atom("noconnection")) {
    return make_error(Errc::not_connected, fmt::format("call to {}: node unreachable", target));
  }
  return make_error(Errc::process_exit, fmt::format("call to {}: the server exited: {}", target,
                                                    reason.to_string(kLogTermChars)));
}

// gen_server:call from C++, the way gen:call does it: monitor the server, send
// {'$gen_call', {Self, MonitorRef}, Request}, and wait for {MonitorRef, Reply} or the
// monitor's 'DOWN' (noproc / noconnection / the server's exit reason) or the timeout.
void start_call(Node& node, const std::function<Ref(const Pid&)>& monitor,
                const std::function<Status(const Term&, const Pid&)>& send, const Term& request,
                std::string target, std::chrono::milliseconds timeout,
                std::function<void(Result<Term>)> done) {
  struct State {
    std::function<void(Result<Term>)> done;
    std::optional<Ref> mref;
    std::uint64_t timer = 0;
    bool finished = false;
  };
  auto state = std::make_shared<State>(State{std::move(done), {}, 0, false});
  auto finish = [state](Node& n, const Pid& me, Result<Term> r) {
    if (state->finished) return;
    state->finished = true;
    n.cancel_timer(state->timer);
    if (state->mref) n.demonitor(me, *state->mref);
    n.exit_process(me);
    state->done(std::move(r));
  };
  const Pid self = node.spawn([state, finish, target](Node& n, const Pid& me, const Term& msg) {
    if (!state->mref || !msg.is_tuple()) return;
    const Term* tag = msg.element(0);
    if (msg.is_tuple(2) && tag->is_ref() && *tag->as_ref() == *state->mref) {
      return finish(n, me, *msg.element(1));
    }
    if (msg.is_tuple(5) && tag->is_atom("DOWN") && msg.element(1)->is_ref() &&
        *msg.element(1)->as_ref() == *state->mref) {
      state->mref.reset();  // already gone
      return finish(n, me, call_error(*msg.element(4), target));
    }
  });
  state->timer = node.after(timeout, [finish, self, target, timeout](Node& n) {
    finish(n, self,
           make_error(Errc::timeout,
                      fmt::format("call to {} timed out after {} ms", target, timeout.count())));
  });
  state->mref = monitor(self);
  const Term msg = Term::tuple(
      {Term::atom("$gen_call"), Term::tuple({Term::pid(self), Term::ref(*state->mref)}), request});
  if (auto st = send(msg, self); !st) finish(node, self, st.error());
}

}  // namespace

void Node::call(const RegName& to, const Term& request, std::chrono::milliseconds timeout,
                std::function<void(Result<Term>)> done) {
  start_call(
      *this, [&](const Pid& self) { return monitor(self, to); },
      [&](const Term& msg, const Pid& self) { return send(to, msg, self); }, request,
      fmt::format("{{{},{}}}", to.name, to.node), timeout, std::move(done));
}

void Node::call(const Pid& to, const Term& request, std::chrono::milliseconds timeout,
                std::function<void(Result<Term>)> done) {
  start_call(
      *this, [&](const Pid& self) { return monitor(self, to); },
      [&](const Term& msg, const Pid&) { return send(to, msg); }, request,
      Term::pid(to).to_string(), timeout, std::move(done));
}

}  // namespace convoy
