// Node: remote calls. OTP 23+ runs rpc:call / erpc:call as a spawn request for
// erpc:execute_call(Ref, M, F, A) with a monitor; the caller learns the result from the
// 'DOWN' of the spawned process: {Ref, return, Value} or {Ref, Class, Reason[, Stack]}
// (kernel/src/erpc.erl). rpc:cast is a spawn of erpc:execute_cast(M, F, A). The registered
// `rex` gen_server serves the older {call, M, F, A, GroupLeader} path.
#include "node/node_impl.hpp"

namespace convoy {

Term Node::Impl::run_function(const Term& module, const Term& function, const Term& args) {
  const Atom* m = module.as_atom();
  const Atom* f = function.as_atom();
  if (!m || !f || !args.is_list()) {
    return Term::tuple({atom("error"), atom("error"), atom("badarg"), Term()});
  }
  const auto argv = args.list_elements();
  const auto it = functions.find({m->name, f->name, static_cast<std::uint32_t>(argv.size())});
  if (it == functions.end()) {
    // What a BEAM node reports for a function that does not exist.
    const Term frame = Term::tuple({module, function, args, Term()});
    return Term::tuple({atom("error"), atom("error"), atom("undef"), Term::list({frame})});
  }
  try {
    return Term::tuple({atom("ok"), it->second(node, argv)});
  } catch (const std::exception& e) {
    spdlog::warn("rpc {}:{}/{} threw: {}", m->name, f->name, argv.size(), e.what());
    return Term::tuple({atom("error"), atom("error"),
                        Term::tuple({atom("cpp_exception"), Term::binary(e.what())}), Term()});
  } catch (...) {
    spdlog::warn("rpc {}:{}/{} threw a non-standard exception", m->name, f->name, argv.size());
    return Term::tuple({atom("error"), atom("error"), atom("cpp_exception"), Term()});
  }
}

void Node::Impl::spawn_request(const std::string& peer, const Term& control,
                               const std::optional<Term>& args) {
  // {29, ReqId, From, GroupLeader, {M, F, A}, Opts}; the argument list is the payload.
  const Term* req_id = control.element(1);
  const Term* from_t = control.element(2);
  const Term* mfa = control.element(4);
  const Term* opts = control.element(5);
  if (!req_id || !from_t || !from_t->is_pid() || !mfa || !mfa->is_tuple(3) || !opts || !args) {
    spdlog::warn("dropping a malformed spawn request from {}: {}", peer, control.to_string());
    return;
  }
  const Pid from = *from_t->as_pid();
  auto reply = [&](std::int64_t flags, const Term& result) {
    reply_control(peer, Term::tuple({Term::integer(dist::op::kSpawnReply), *req_id, *from_t,
                                     Term::integer(flags), result}));
  };
  const bool execute_call = mfa->element(0)->is_atom("erpc") &&
                            mfa->element(1)->is_atom("execute_call") &&
                            mfa->element(2)->as_integer() && *mfa->element(2)->as_integer() == 4;
  const bool execute_cast = mfa->element(0)->is_atom("erpc") &&
                            mfa->element(1)->is_atom("execute_cast") &&
                            mfa->element(2)->as_integer() && *mfa->element(2)->as_integer() == 3;
  const auto argv = args->list_elements();
  if (!(execute_call && argv.size() == 4) && !(execute_cast && argv.size() == 3)) {
    // Arbitrary Erlang code cannot run here.
    spdlog::info("refusing spawn of {} from {}: only rpc/erpc calls are served", mfa->to_string(),
                 peer);
    return reply(0, atom("notsup"));
  }
  bool link = false, monitor = false;
  for (const Term& o : opts->list_elements()) {
    link = link || o.is_atom("link");
    monitor =
        monitor || o.is_atom("monitor") || (o.is_tuple(2) && o.element(0)->is_atom("monitor"));
  }
  // A short-lived process stands for the call, so links and monitors behave as on BEAM.
  const Pid worker = spawn([](Node&, const Pid&, const Term&) {}, {});
  auto p = find_process(worker);
  if (link) p->links.insert(from);
  if (monitor && req_id->is_ref())
    p->monitored_by.emplace(*req_id->as_ref(), Watch{from, Term::pid(worker)});
  reply((link ? 1 : 0) | (monitor ? 2 : 0), Term::pid(worker));

  if (execute_cast) {
    (void)run_function(argv[0], argv[1], argv[2]);
    return exit_process(worker, atom("normal"));
  }
  const Term& tag = argv[0];
  const Term outcome = run_function(argv[1], argv[2], argv[3]);
  Term reason;
  if (outcome.element(0)->is_atom("ok")) {
    reason = Term::tuple({tag, atom("return"), *outcome.element(1)});
  } else {
    reason = Term::tuple({tag, *outcome.element(1), *outcome.element(2), *outcome.element(3)});
  }
  exit_process(worker, reason);
}

void Node::Impl::install_rex() {
  GenServer rex;
  rex.handle_call = [](Node& n, const Term& request, const Term&) -> std::optional<Term> {
    // {call, M, F, A, GroupLeader}
    if (!request.is_tuple(5) || !request.element(0)->is_atom("call")) {
      return Term::tuple({atom("badrpc"), atom("badarg")});
    }
    const Term outcome =
        n.impl_->run_function(*request.element(1), *request.element(2), *request.element(3));
    if (outcome.element(0)->is_atom("ok")) return *outcome.element(1);
    return Term::tuple(
        {atom("badrpc"),
         Term::tuple({atom("EXIT"), Term::tuple({*outcome.element(2), *outcome.element(3)})})});
  };
  rex.handle_cast = [](Node& n, const Term& request) {
    if (request.is_tuple(5) && request.element(0)->is_atom("cast")) {
      (void)n.impl_->run_function(*request.element(1), *request.element(2), *request.element(3));
    }
  };
  (void)node.register_process("rex", gen_server_mailbox(std::move(rex)));
}

void Node::register_function(std::string module, std::string function, std::uint32_t arity,
                             RpcFunction fn) {
  impl_->functions[{std::move(module), std::move(function), arity}] = std::move(fn);
}

}  // namespace convoy
