// Node: remote calls. OTP 23+ runs rpc:call / erpc:call as a spawn request for
// erpc:execute_call(Ref, M, F, A) with a monitor; the caller learns the result from the
// 'DOWN' of the spawned process: {Ref, return, Value} or {Ref, Class, Reason[, Stack]}
// (kernel/src/erpc.erl). rpc:cast is a spawn of erpc:execute_cast(M, F, A). The registered
// `rex` gen_server serves the older {call, M, F, A, GroupLeader} path.
#include <spdlog/spdlog.h>

#include "node/exception_reason.hpp"
#include "node/node_impl.hpp"
#include "term/printed.hpp"

namespace convoy {
namespace {
Term atom(std::string_view a) { return Term::atom(a); }
}  // namespace

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
  } catch (...) {
    const auto what = node::caught_exception_text();
    spdlog::warn("rpc {}:{}/{} threw: {}", m->name, f->name, argv.size(), what);
    return Term::tuple({atom("error"), atom("error"), node::cpp_exception_reason(what), Term()});
  }
}

void Node::Impl::spawn_request(const std::string& peer, const dist::SpawnRequest& req,
                               const Term& args) {
  auto reply = [&](std::int64_t flags, const Term& result) {
    if (auto st = route(peer, dist::SpawnReply{req.req_id, req.from, flags, result, std::nullopt});
        !st) {
      spdlog::warn("cannot answer a spawn request from {}: {}", peer, st.error().message);
    }
  };
  const bool erpc = req.module == "erpc";
  const bool execute_call = erpc && req.function == "execute_call" && req.arity == 4;
  const bool execute_cast = erpc && req.function == "execute_cast" && req.arity == 3;
  const auto argv = args.list_elements();
  if (!(execute_call && argv.size() == 4) && !(execute_cast && argv.size() == 3)) {
    // Arbitrary Erlang code cannot run here.
    spdlog::info("refusing spawn of {}:{}/{} from {}: only rpc/erpc calls are served", req.module,
                 req.function, req.arity, peer);
    return reply(0, Term::atom("notsup"));
  }
  bool link = false, monitor = false;
  for (const Term& o : req.options) {
    link = link || o.is_atom("link");
    monitor =
        monitor || o.is_atom("monitor") || (o.is_tuple(2) && o.element(0)->is_atom("monitor"));
  }
  // A short-lived process stands for the call, so links and monitors behave as on BEAM.
  const Pid worker = processes.spawn([](Node&, const Pid&, const Term&) {}, {});
  if (link) processes.remote_link(peer, req.from, worker);
  if (monitor) processes.remote_monitor(peer, req.from, Term::pid(worker), req.req_id);
  reply((link ? 1 : 0) | (monitor ? 2 : 0), Term::pid(worker));

  if (execute_cast) {
    const Term outcome = run_function(argv[0], argv[1], argv[2]);
    if (!outcome.element(0)->is_atom("ok")) {
      spdlog::warn("rpc cast {}:{} from {} failed: {}", printed(argv[0]), printed(argv[1]), peer,
                   printed(outcome));
    }
    return processes.exit(worker, Term::atom("normal"));
  }
  const Term& tag = argv[0];
  const Term outcome = run_function(argv[1], argv[2], argv[3]);
  Term reason;
  if (outcome.element(0)->is_atom("ok")) {
    reason = Term::tuple({tag, Term::atom("return"), *outcome.element(1)});
  } else {
    reason = Term::tuple({tag, *outcome.element(1), *outcome.element(2), *outcome.element(3)});
  }
  processes.exit(worker, reason);
}

Status Node::Impl::install_rex() {
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
      const Term outcome =
          n.impl_->run_function(*request.element(1), *request.element(2), *request.element(3));
      if (!outcome.element(0)->is_atom("ok")) {
        spdlog::warn("rex cast {}:{} failed: {}", printed(*request.element(1)),
                     printed(*request.element(2)), printed(outcome));
      }
    }
  };
  auto r = node.register_process("rex", gen_server_mailbox(std::move(rex)));
  if (!r) return r.error();
  return {};
}

void Node::register_function(std::string module, std::string function, std::uint32_t arity,
                             RpcFunction fn) {
  impl_->functions[{std::move(module), std::move(function), arity}] = std::move(fn);
}

}  // namespace convoy
