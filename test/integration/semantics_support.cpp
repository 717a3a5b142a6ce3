// Helpers shared by the semantics_*_test.cpp suites: BEAM peers and clients, waits, the
// expected 'DOWN' / 'EXIT' messages, victim processes on a peer (see semantics_support.hpp).
#include "semantics_support.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <thread>
#include <utility>

namespace convoy::test {

// --- BEAM processes ----------------------------------------------------------------------

BeamNode start_peer(Kind kind, const std::string& sname, const std::vector<std::string>& extra,
                    const std::string& prelude) {
  return BeamNode::serve(kind, sname,
                         kind == Kind::erlang ? "convoy_fixture_semantics:serve()"
                                              : prelude + "\n:convoy_fixture_semantics.serve()",
                         extra);
}

BeamNode start_client(Kind kind, const std::string& expr, const std::vector<std::string>& extra,
                      const std::string& sname) {
  return BeamNode::spawn(kind, sname, expr, extra);
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

long long captured_number(const std::string& text, const std::string& re) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(re))) return -1;
  return std::stoll(m[1]);
}

bool wait_until(const std::function<bool()>& done, milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string line_starting(const std::string& text, const std::string& prefix) {
  const auto at = text.find(prefix);
  if (at == std::string::npos) return "<no line starting with '" + prefix + "'>";
  return text.substr(at, text.find('\n', at) - at);
}

// --- in-process node ---------------------------------------------------------------------

void pump_for(Node& node, milliseconds span) {
  pump(
      node, [] { return false; }, span);
}

std::string describe(const Result<Term>& r) {
  return r.ok() ? "ok " + r->to_string()
                : "error " + r.error().code.message() + ": " + r.error().message;
}

Term atom(std::string_view a) { return Term::atom(a); }
Term tuple(std::vector<Term> e) { return Term::tuple(std::move(e)); }

Term down_msg(const Ref& ref, const Term& object, const Term& reason) {
  return tuple({atom("DOWN"), Term::ref(ref), atom("process"), object, reason});
}
Term exit_msg(const Pid& from, const Term& reason) {
  return tuple({atom("EXIT"), Term::pid(from), reason});
}
Term name_object(const std::string& name, const std::string& node) {
  return tuple({atom(name), atom(node)});
}
const Term* find_down(const Inbox& inbox, const Ref& ref) {
  return inbox.find([&](const Term& t) {
    return t.is_tuple(5) && t.element(0)->is_atom("DOWN") && *t.element(1) == Term::ref(ref);
  });
}

std::optional<Pid> start_victim(Node& node, const std::string& peer, const std::string& name,
                                bool trap, const std::optional<Pid>& report_to) {
  auto r = call_and_wait(
      node, {"semantics", peer},
      tuple({atom("start_victim"), atom(name.empty() ? "undefined" : name),
             atom(trap ? "true" : "false"), report_to ? Term::pid(*report_to) : atom("undefined")}),
      10s);
  if (r.ok() && r->is_tuple(2) && r->element(0)->is_atom("ok") && r->element(1)->is_pid()) {
    return *r->element(1)->as_pid();
  }
  ADD_FAILURE() << "start_victim " << name << ": " << describe(r);
  return std::nullopt;
}

}  // namespace convoy::test
