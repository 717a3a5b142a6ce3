#pragma once
// Config: every option of the c_node daemon, with defaults and validation. The executable
// fills it from flags (and, later, a TOML file and the environment); the library turns it
// into NodeOptions.
#include <chrono>
#include <optional>
#include <string>

#include "convoy/node.hpp"
#include "convoy/result.hpp"

namespace convoy {

struct Config {
  std::string name;                   // "sname-PORT@host"
  std::optional<std::string> cookie;  // from --cookie; see resolve_cookie()
  std::string listen_address = "0.0.0.0";
  int net_ticktime = 60;  // seconds
  std::string log_level = "info";
};

// The cookie: the explicit one, else $ERLANG_COOKIE, else the first line of
// ~/.erlang.cookie (as erl does). Error if none is found or it is empty.
Result<std::string> resolve_cookie(const std::optional<std::string>& explicit_cookie);

// Validates every field and builds the node's options.
Result<NodeOptions> to_node_options(const Config& config);

}  // namespace convoy
