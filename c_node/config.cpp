#include "config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

namespace convoy {
namespace {

Error config_error(const std::string& path, const toml::source_region& where,
                   const std::string& what) {
  return make_error(Errc::invalid_argument, fmt::format("{}:{}: {}", path, where.begin.line, what));
}

// One nameservers entry: "ip:port", or Caravan's ["ip", port] with the port a string or an
// integer; the result is in Nameserver::parse syntax.
std::optional<std::string> nameserver_entry(const toml::node& e) {
  if (auto v = e.value<std::string>(); v && e.is_string()) return *v;
  const auto* pair = e.as_array();
  if (!pair || pair->size() != 2 || !(*pair)[0].is_string()) return std::nullopt;
  const std::string host = *(*pair)[0].value<std::string>();
  long long port = -1;
  if ((*pair)[1].is_integer()) {
    port = *(*pair)[1].value<long long>();
  } else if ((*pair)[1].is_string()) {
    const std::string text = *(*pair)[1].value<std::string>();
    if (text.empty() || text.size() > 5 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    port = std::stoll(text);
  }
  if (host.empty() || port < 1 || port > 65535) return std::nullopt;
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

}  // namespace

const std::vector<std::string>& log_level_names() {
  static const std::vector<std::string> names{"trace",   "debug", "info",     "warn",
                                              "warning", "error", "critical", "off"};
  return names;
}

Status validate_log_level(const std::string& level) {
  const auto& names = log_level_names();
  if (std::find(names.begin(), names.end(), level) != names.end()) return {};
  return make_error(Errc::invalid_argument, fmt::format("'log_level' = \"{}\" is not one of {}",
                                                        level, fmt::join(names, ", ")));
}

namespace {

// The Limits fields the file may set (the sizes fit an int: at most 1 GiB), by key.
struct LimitKey {
  std::size_t* field;
  long long lo;
  long long hi;
};
std::optional<LimitKey> byte_limit(Limits& l, const std::string& key) {
  constexpr long long kGiB = 1LL << 30;
  if (key == "max_frame_bytes") return LimitKey{&l.max_frame_bytes, 1024, kGiB};
  if (key == "max_decoded_bytes") return LimitKey{&l.max_decoded_bytes, 1024, kGiB};
  if (key == "max_pending_per_peer") return LimitKey{&l.max_pending_per_peer, 1, 100000000};
  if (key == "max_pending_bytes_per_peer") {
    return LimitKey{&l.max_pending_bytes_per_peer, 1024, kGiB};
  }
  if (key == "max_dials") return LimitKey{&l.max_dials, 1, 100000};
  if (key == "link_output_high_water") return LimitKey{&l.link_output_high_water, 1024, kGiB};
  if (key == "node_output_high_water") return LimitKey{&l.node_output_high_water, 1024, kGiB};
  if (key == "max_link_backlog") return LimitKey{&l.max_link_backlog, 1024, kGiB};
  if (key == "max_holds_per_node") return LimitKey{&l.max_holds_per_node, 1, 100000000};
  return std::nullopt;
}

}  // namespace

Result<Config> load_config_file(const std::string& path, Config base) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Errc::invalid_argument, fmt::format("cannot read config file {}", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_config_text(text.str(), path, std::move(base));
}

Result<Config> load_config_text(std::string_view text, const std::string& path, Config base) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return make_error(Errc::invalid_argument,
                      fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
  }
  Config c = std::move(base);
  std::optional<std::string> service_key;  // which of consul_service / query set it
  for (const auto& entry : table) {
    // Named references, not structured bindings: lambdas below capture them.
    const std::string k(entry.first.str());
    const toml::node& node = entry.second;
    auto want_string = [&](std::string& out) -> Status {
      if (auto v = node.value<std::string>()) {
        out = *v;
        return {};
      }
      return config_error(path, node.source(), fmt::format("'{}' must be a string", k));
    };
    auto want_int = [&](int& out, long long lo, long long hi) -> Status {
      // is_integer() first: value<long long>() converts a float, and one out of range
      // (2499E094) is undefined behaviour (found by config_fuzz).
      const auto v = node.is_integer() ? node.value<long long>() : std::nullopt;
      if (!v) {
        return config_error(path, node.source(), fmt::format("'{}' must be an integer", k));
      }
      if (*v < lo || *v > hi) {
        return config_error(path, node.source(),
                            fmt::format("'{}' = {} is out of range {}..{}", k, *v, lo, hi));
      }
      out = static_cast<int>(*v);
      return {};
    };
    Status st;
    if (k == "name") {
      st = want_string(c.name);
    } else if (k == "cookie") {
      std::string s;
      st = want_string(s);
      if (st) c.cookie = s;
    } else if (k == "cookie_file") {
      std::string s;
      st = want_string(s);
      if (st) c.cookie_file = s;
    } else if (k == "listen_address") {
      st = want_string(c.listen_address);
    } else if (k == "net_ticktime") {
      st = want_int(c.net_ticktime, 1, 86400);
    } else if (k == "max_inbound_handshakes") {
      st = want_int(c.max_inbound_handshakes, 1, 1000000);
    } else if (const auto limit = byte_limit(c.limits, k)) {
      int v = 0;
      st = want_int(v, limit->lo, limit->hi);
      if (st) *limit->field = static_cast<std::size_t>(v);
    } else if (k == "log_level") {
      st = want_string(c.log_level);
      if (st) {
        if (auto v = validate_log_level(c.log_level); !v) {
          st = config_error(path, node.source(), v.error().message);
        }
      }
    } else if (k == "consul_service" || k == "query") {
      // Caravan 1.x calls the SRV name `query`: one setting under two names.
      std::string v;
      st = want_string(v);
      if (st && service_key && v != c.consul_service) {
        st = config_error(path, node.source(),
                          fmt::format("'{}' = \"{}\" contradicts '{}' = \"{}\" (the same setting)",
                                      k, v, *service_key, c.consul_service));
      }
      if (st) {
        c.consul_service = v;
        service_key = k;
      }
    } else if (k == "node_sname") {
      st = want_string(c.node_sname);
    } else if (k == "poll_interval") {
      st = want_int(c.poll_interval, 10, 86400000);
    } else if (k == "prune_after") {
      st = want_int(c.prune_after, 0, 1000000);
    } else if (k == "host_from") {
      st = want_string(c.host_from);
    } else if (k == "nameservers") {
      const auto* arr = node.as_array();
      if (!arr) {
        st = config_error(path, node.source(),
                          "'nameservers' must be an array of \"ip:port\" or [\"ip\", port]");
      } else {
        c.nameservers.clear();
        for (const auto& e : *arr) {
          auto v = nameserver_entry(e);
          if (!v) {
            st = config_error(path, e.source(),
                              "'nameservers' entries are \"ip:port\" or [\"ip\", port]");
            break;
          }
          c.nameservers.push_back(*v);
        }
      }
    } else {
      st = config_error(path, node.source(), fmt::format("unknown key '{}'", k));
    }
    if (!st) return st.error();
  }
  return c;
}

namespace {

// The first line of a cookie file, without trailing blanks (as erl reads ~/.erlang.cookie).
Result<std::string> read_cookie_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return make_error(Errc::invalid_argument,
                      fmt::format("cannot read cookie file {}: {}", path, std::strerror(errno)));
  }
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  if (line.empty()) return make_error(Errc::invalid_argument, fmt::format("{} is empty", path));
  return line;
}

}  // namespace

Result<std::string> resolve_cookie(const std::optional<std::string>& explicit_cookie,
                                   const std::optional<std::string>& cookie_file) {
  if (explicit_cookie) {
    if (explicit_cookie->empty()) return make_error(Errc::invalid_argument, "the cookie is empty");
    return *explicit_cookie;
  }
  if (cookie_file) {
    struct stat st {};
    if (::stat(cookie_file->c_str(), &st) == 0 && (st.st_mode & 044) != 0) {
      // erl refuses such a ~/.erlang.cookie; a file named on purpose (a systemd credential,
      // a mounted secret) is used, but the hole is said out loud.
      spdlog::warn("cookie file {} is readable by {} (mode {:o}); chmod 400 {}", *cookie_file,
                   (st.st_mode & 004) != 0 ? "every local user" : "its group", st.st_mode & 0777,
                   *cookie_file);
    }
    return read_cookie_file(*cookie_file);
  }
  // RELEASE_COOKIE is what an Elixir release reads; ERLANG_COOKIE is convoy's older name.
  for (const char* var : {"RELEASE_COOKIE", "ERLANG_COOKIE"}) {
    if (const char* env = std::getenv(var); env && *env) return std::string(env);
  }
  const char* home = std::getenv("HOME");
  if (home && *home) {
    const std::string path = std::string(home) + "/.erlang.cookie";
    // erl refuses a cookie file that others may read (kernel's auth.erl); so do we.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      if ((st.st_mode & 077) != 0) {
        return make_error(Errc::invalid_argument,
                          fmt::format("cookie file {} must be accessible by its owner only (mode "
                                      "{:o}; chmod 400 {})",
                                      path, st.st_mode & 0777, path));
      }
      return read_cookie_file(path);
    }
  }
  return make_error(Errc::invalid_argument,
                    "no cookie: set cookie_file (--cookie-file) or RELEASE_COOKIE, or create "
                    "~/.erlang.cookie (--cookie works too, but every local user sees it in ps)");
}

Result<NodeOptions> to_node_options(const Config& config) {
  if (config.name.empty()) {
    return make_error(Errc::invalid_argument, "no node name: pass --name or set 'name'");
  }
  auto name = NodeName::parse(config.name);
  if (!name) return name.error();
  auto cookie = resolve_cookie(config.cookie, config.cookie_file);
  if (!cookie) return cookie.error();
  if (config.net_ticktime < 1 || config.net_ticktime > 86400) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("net_ticktime {} is out of range 1..86400 seconds", config.net_ticktime));
  }
  NodeOptions options{.name = std::move(*name), .cookie = std::move(*cookie)};
  options.listen_address = config.listen_address;
  options.net_ticktime = std::chrono::seconds(config.net_ticktime);
  if (config.max_inbound_handshakes < 1) {
    return make_error(Errc::invalid_argument, "max_inbound_handshakes must be at least 1");
  }
  options.limits = config.limits;
  options.limits.max_inbound_handshakes = static_cast<std::size_t>(config.max_inbound_handshakes);
  return options;
}

Result<std::optional<DnsSrvOptions>> to_discovery_options(const Config& config) {
  if (config.consul_service.empty()) {
    if (!config.nameservers.empty() || !config.node_sname.empty()) {
      return make_error(Errc::invalid_argument,
                        "discovery settings given without consul_service (--consul-service)");
    }
    return std::optional<DnsSrvOptions>();
  }
  DnsSrvOptions o;
  o.consul_service = config.consul_service;
  o.node_sname = config.node_sname;
  o.poll_interval = std::chrono::milliseconds(config.poll_interval);
  o.prune_after = config.prune_after;
  if (config.host_from == "target") {
    o.host_from = HostFrom::target;
  } else if (config.host_from == "address") {
    o.host_from = HostFrom::address;
  } else {
    return make_error(
        Errc::invalid_argument,
        fmt::format("host_from must be 'target' or 'address', not '{}'", config.host_from));
  }
  for (const auto& text : config.nameservers) {
    auto ns = Nameserver::parse(text);
    if (!ns) return ns.error();
    o.nameservers.push_back(*ns);
  }
  if (auto st = o.validate(); !st) return st.error();
  return std::optional<DnsSrvOptions>(std::move(o));
}

}  // namespace convoy
