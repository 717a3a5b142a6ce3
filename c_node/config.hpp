#pragma once
// Config: every option of the c_node daemon, with defaults and validation. Sources, later
// ones winning: defaults < TOML file (--config) < command-line flags. The TOML keys mirror
// Caravan's config: name, cookie (or cookie_file), consul_service (or Caravan 1.x's `query`),
// node_sname, nameservers = ["ip:port"] or [["ip", port]], poll_interval (ms), plus net_ticktime,
// listen_address, log_level, prune_after, host_from, metrics_address, health_dns_failures.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convoy/discovery.hpp"
#include "convoy/node.hpp"
#include "convoy/result.hpp"

namespace convoy {

struct Config {
  std::string name;                        // "sname-PORT@host"
  std::optional<std::string> cookie;       // see resolve_cookie()
  std::optional<std::string> cookie_file;  // a file whose first line is the cookie
  std::string listen_address = "0.0.0.0";
  int net_ticktime = 60;  // seconds
  int max_inbound_handshakes = 128;
  // Set from the file's max_frame_bytes, max_decoded_bytes, ... keys (convoy/limits.hpp).
  Limits limits{};
  std::string log_level = "info";
  // Discovery runs when consul_service is set.
  std::string consul_service;
  std::string node_sname;
  std::vector<std::string> nameservers;  // "ip:port"
  int poll_interval = 5000;              // ms
  int prune_after = 0;
  std::string host_from = "target";  // "target" | "address"
  // /metrics and /health: "IP:PORT", "[IPv6]:PORT" or a bare PORT (on 127.0.0.1); empty: off.
  std::string metrics_address;
  int health_dns_failures = 3;  // DNS polls failed in a row before /health says 503
};

struct HttpEndpoint {
  std::string ip;
  std::uint16_t port = 0;
};
// metrics_address parsed, or nullopt when it is empty (the endpoint is off).
Result<std::optional<HttpEndpoint>> metrics_endpoint(const Config& config);

// The log levels the flag and the file accept (spdlog's names, "warn" and "warning" alike).
const std::vector<std::string>& log_level_names();
Status validate_log_level(const std::string& level);

// Reads a TOML file over `base`: keys present in the file replace base's values. Unknown
// keys and wrongly typed values are errors (a typo must not silently fall back to a
// default), reported with the file, line and key.
Result<Config> load_config_file(const std::string& path, Config base = {});
// The same over TOML text; `path` names it in error messages.
Result<Config> load_config_text(std::string_view text, const std::string& path, Config base = {});

// The cookie, from the first of: the explicit one; the first line of cookie_file (a file
// others can read is used, with a warning); $RELEASE_COOKIE (what Elixir releases set);
// $ERLANG_COOKIE; the first line of ~/.erlang.cookie (as erl does, refusing it if others
// may read it). Error if none is found or it is empty.
Result<std::string> resolve_cookie(const std::optional<std::string>& explicit_cookie,
                                   const std::optional<std::string>& cookie_file = std::nullopt);

// Every setting as its TOML key and a printable value (the cookie masked), in a fixed order.
std::vector<std::pair<std::string, std::string>> config_values(const Config& config);

// What SIGHUP can apply from a re-read configuration: the keys that changed and take effect
// now (log_level, nameservers, poll_interval, prune_after), and those that changed but need a
// restart (the rest; `running` keeps its values for them).
struct ConfigChanges {
  Config next;                       // `running` with the changes that apply now
  std::vector<std::string> applied;  // "key: old -> new"
  std::vector<std::string> restart;  // "key: old -> new"
};
ConfigChanges diff_for_reload(const Config& running, const Config& reread);

// Validates every node field and builds the node's options.
Result<NodeOptions> to_node_options(const Config& config);
// Discovery options, or nullopt when consul_service is not set; node_sname is required then.
Result<std::optional<DnsSrvOptions>> to_discovery_options(const Config& config);

}  // namespace convoy
