#include "config.hpp"

#include <arpa/inet.h>
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
    } else if (k == "metrics_address") {
      st = want_string(c.metrics_address);
    } else if (k == "health_dns_failures") {
      st = want_int(c.health_dns_failures, 1, 1000000);
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

std::vector<std::pair<std::string, std::string>> config_values(const Config& c) {
  auto text = [](const std::string& v) { return fmt::format("\"{}\"", v); };
  auto opt = [&](const std::optional<std::string>& v) {
    return v ? text(*v) : std::string("(unset)");
  };
  std::vector<std::pair<std::string, std::string>> out{
      {"name", text(c.name)},
      {"cookie", c.cookie ? std::string("(set, hidden)") : std::string("(unset)")},
      {"cookie_file", opt(c.cookie_file)},
      {"listen_address", text(c.listen_address)},
      {"net_ticktime", std::to_string(c.net_ticktime)},
      {"max_inbound_handshakes", std::to_string(c.max_inbound_handshakes)},
      {"log_level", text(c.log_level)},
      {"consul_service", text(c.consul_service)},
      {"node_sname", text(c.node_sname)},
      {"nameservers", fmt::format("[{}]", fmt::join(c.nameservers, ", "))},
      {"poll_interval", std::to_string(c.poll_interval)},
      {"prune_after", std::to_string(c.prune_after)},
      {"host_from", text(c.host_from)},
      {"metrics_address", text(c.metrics_address)},
      {"health_dns_failures", std::to_string(c.health_dns_failures)},
  };
  Limits limits = c.limits;
  for (const char* key : {"max_frame_bytes", "max_decoded_bytes", "max_pending_per_peer",
                          "max_pending_bytes_per_peer", "max_dials", "link_output_high_water",
                          "node_output_high_water", "max_link_backlog", "max_holds_per_node"}) {
    out.emplace_back(key, std::to_string(*byte_limit(limits, key)->field));
  }
  return out;
}

ConfigChanges diff_for_reload(const Config& running, const Config& reread) {
  ConfigChanges changes;
  changes.next = running;
  Config& next = changes.next;
  auto note = [](std::vector<std::string>& to, const std::string& key, const std::string& from,
                 const std::string& now) {
    to.push_back(fmt::format("{}: {} -> {}", key, from, now));
  };
  // The ones that apply now, taken into `next` one by one.
  if (reread.log_level != running.log_level) {
    note(changes.applied, "log_level", running.log_level, reread.log_level);
    next.log_level = reread.log_level;
  }
  if (reread.nameservers != running.nameservers) {
    note(changes.applied, "nameservers", fmt::format("[{}]", fmt::join(running.nameservers, ", ")),
         fmt::format("[{}]", fmt::join(reread.nameservers, ", ")));
    next.nameservers = reread.nameservers;
  }
  if (reread.poll_interval != running.poll_interval) {
    note(changes.applied, "poll_interval", std::to_string(running.poll_interval),
         std::to_string(reread.poll_interval));
    next.poll_interval = reread.poll_interval;
  }
  if (reread.prune_after != running.prune_after) {
    note(changes.applied, "prune_after", std::to_string(running.prune_after),
         std::to_string(reread.prune_after));
    next.prune_after = reread.prune_after;
  }
  // Everything else is compared as printed: a difference needs a restart.
  const auto before = config_values(running);
  const auto after = config_values(reread);
  for (std::size_t i = 0; i < before.size(); ++i) {
    const std::string& key = before[i].first;
    if (key == "log_level" || key == "nameservers" || key == "poll_interval" ||
        key == "prune_after") {
      continue;
    }
    if (before[i].second != after[i].second) {
      note(changes.restart, key, before[i].second, after[i].second);
    }
  }
  // A cookie swapped for another is hidden in print: compare the values themselves.
  if (running.cookie && reread.cookie && *running.cookie != *reread.cookie) {
    changes.restart.push_back("cookie: (changed, hidden)");
  }
  return changes;
}

Result<std::optional<HttpEndpoint>> metrics_endpoint(const Config& config) {
  const std::string& text = config.metrics_address;
  if (text.empty()) return std::optional<HttpEndpoint>();
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument,
                      fmt::format("metrics_address '{}': {} (expected PORT, IP:PORT or "
                                  "[IPv6]:PORT)",
                                  text, why));
  };
  HttpEndpoint e{.ip = "127.0.0.1"};
  std::string port = text;
  if (const auto colon = text.rfind(':'); colon != std::string::npos) {
    std::string ip = text.substr(0, colon);
    port = text.substr(colon + 1);
    const bool bracketed = ip.size() >= 2 && ip.front() == '[' && ip.back() == ']';
    if (bracketed) ip = ip.substr(1, ip.size() - 2);
    in6_addr a6{};
    in_addr a4{};
    if (bracketed ? ::inet_pton(AF_INET6, ip.c_str(), &a6) != 1
                  : ::inet_pton(AF_INET, ip.c_str(), &a4) != 1) {
      return bad(fmt::format("'{}' is not an IP{} address", ip, bracketed ? "v6" : "v4"));
    }
    e.ip = ip;
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return bad(fmt::format("'{}' is not a port", port));
  }
  const int n = std::stoi(port);
  if (n < 1 || n > 65535) return bad("the port must be 1..65535");
  e.port = static_cast<std::uint16_t>(n);
  return std::optional<HttpEndpoint>(e);
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
