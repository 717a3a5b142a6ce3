#pragma once
// Local processes. A process is a pid (minted by erl_interface) plus a C++ handler that the
// node's event loop calls with each message addressed to it. Handlers run on the loop
// thread, one message at a time, and must not block.
#include <functional>
#include <optional>

#include "convoy/term.hpp"

namespace convoy {

class Node;

struct ProcessOptions {
  // true: exit signals arrive as {'EXIT', From, Reason} messages instead of ending the
  // process (erlang:process_flag(trap_exit, true)).
  bool trap_exit = false;
};

// Called for every message delivered to the process `self`. A handler that throws ends
// its process alone, as an error ends an Erlang process: the exit reason is
// {cpp_exception, <<what()>>}, its links and monitors are told, its name is freed, and the
// node logs it and goes on.
using Mailbox = std::function<void(Node& node, const Pid& self, const Term& message)>;

// The gen_server protocol on top of a Mailbox. `from` is the caller's {Pid, Tag}, to be
// passed to Node::reply() by handlers that answer later (returning std::nullopt).
struct GenServer {
  std::function<std::optional<Term>(Node& node, const Term& request, const Term& from)> handle_call;
  std::function<void(Node& node, const Term& request)> handle_cast;
  std::function<void(Node& node, const Term& info)> handle_info;
};

// Adapts a GenServer to a Mailbox: {'$gen_call', From, Req} -> handle_call (reply sent to
// From with the tag echoed exactly, plain ref or [alias | Ref]); {'$gen_cast', Req} ->
// handle_cast; everything else -> handle_info. Missing callbacks ignore their messages.
Mailbox gen_server_mailbox(GenServer server);

}  // namespace convoy
