#include "convoy/config.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

namespace convoy {

Result<std::string> resolve_cookie(const std::optional<std::string>& explicit_cookie) {
  if (explicit_cookie) {
    if (explicit_cookie->empty()) return make_error(Errc::invalid_argument, "--cookie is empty");
    return *explicit_cookie;
  }
  if (const char* env = std::getenv("ERLANG_COOKIE"); env && *env) return std::string(env);
  const char* home = std::getenv("HOME");
  if (home && *home) {
    const std::string path = std::string(home) + "/.erlang.cookie";
    std::ifstream in(path);
    std::string line;
    if (in && std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty()) return line;
      return make_error(Errc::invalid_argument, fmt::format("{} is empty", path));
    }
  }
  return make_error(Errc::invalid_argument,
                    "no cookie: pass --cookie, set ERLANG_COOKIE or create ~/.erlang.cookie");
}

Result<NodeOptions> to_node_options(const Config& config) {
  auto name = NodeName::parse(config.name);
  if (!name) return name.error();
  auto cookie = resolve_cookie(config.cookie);
  if (!cookie) return cookie.error();
  if (config.net_ticktime < 1 || config.net_ticktime > 86400) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("net_ticktime {} is out of range 1..86400 seconds", config.net_ticktime));
  }
  NodeOptions options{.name = std::move(*name), .cookie = std::move(*cookie)};
  options.listen_address = config.listen_address;
  options.net_ticktime = std::chrono::seconds(config.net_ticktime);
  return options;
}

}  // namespace convoy
