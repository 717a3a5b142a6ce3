// Helpers shared by the semantics_*_test.cpp suites (distribution semantics against live
// Erlang and Elixir nodes): BEAM peers and clients, an inspectable Inbox, expected messages.
//
// BEAM-side helpers live in rebar_fixture/src/convoy_fixture_semantics.erl; every wait is
// bounded and every OS process is killed by PID (process group) when its test ends.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convoy/node.hpp"
#include "harness.hpp"

namespace convoy::test {

using Kind = BeamNode::Kind;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// --- BEAM processes ----------------------------------------------------------------------

// A long-running BEAM node running convoy_fixture_semantics:serve() (fixture_server, echo,
// semantics, stuck). `prelude` runs first (Elixir only: e.g. a defmodule).
BeamNode start_peer(Kind kind, const std::string& sname, const std::vector<std::string>& extra = {},
                    const std::string& prelude = {});

// A BEAM client running `expr` in the background (run_client blocks; this one does not, so
// the test thread can drive an in-process Node meanwhile). Named `sname-PORT@127.0.0.1`.
BeamNode start_client(Kind kind, const std::string& expr,
                      const std::vector<std::string>& extra = {},
                      const std::string& sname = "client");

bool contains(const std::string& text, const std::string& what);

// The integer captured by `re`'s first group in `text`, or -1.
long long captured_number(const std::string& text, const std::string& re);

bool wait_until(const std::function<bool()>& done, milliseconds limit);

double seconds_since(Clock::time_point t0);

// The line of `text` that starts where `prefix` first occurs (or a placeholder if none).
std::string line_starting(const std::string& text, const std::string& prefix);

// --- in-process node ---------------------------------------------------------------------

void pump_for(Node& node, milliseconds span);

std::string describe(const Result<Term>& r);

// Every message a local process receives, kept for inspection (shared, so it outlives the
// node whatever the declaration order).
struct Inbox {
  std::shared_ptr<std::vector<Term>> messages = std::make_shared<std::vector<Term>>();
  Mailbox mailbox() const {
    return [m = messages](Node&, const Pid&, const Term& t) { m->push_back(t); };
  }
  bool has(const Term& t) const {
    return std::find(messages->begin(), messages->end(), t) != messages->end();
  }
  std::size_t count(const Term& t) const {
    return static_cast<std::size_t>(std::count(messages->begin(), messages->end(), t));
  }
  const Term* find(const std::function<bool(const Term&)>& pred) const {
    for (const auto& t : *messages) {
      if (pred(t)) return &t;
    }
    return nullptr;
  }
  std::string dump() const {
    std::string s = "inbox:";
    for (const auto& t : *messages) s += "\n  " + t.to_string();
    return s;
  }
};

Term atom(std::string_view a);
Term tuple(std::vector<Term> e);

Term down_msg(const Ref& ref, const Term& object, const Term& reason);
Term exit_msg(const Pid& from, const Term& reason);
Term name_object(const std::string& name, const std::string& node);
// The 'DOWN' for `ref`, whatever it carries.
const Term* find_down(const Inbox& inbox, const Ref& ref);

// Asks the peer's `semantics` server for a victim process (see convoy_fixture_semantics);
// `name` "" leaves it unregistered.
std::optional<Pid> start_victim(Node& node, const std::string& peer, const std::string& name,
                                bool trap, const std::optional<Pid>& report_to);

}  // namespace convoy::test
