// c_node: a convoy node as a daemon. Wires flags (+ TOML file) -> Config -> Node, the
// built-in services and, when configured, DNS SRV discovery.
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>

#include "config.hpp"
#include "convoy/discovery.hpp"
#include "convoy/node.hpp"
#include "convoy/services.hpp"
#include "convoy/version.hpp"
#include "status_server.hpp"
#include "systemd_notify.hpp"

namespace {
constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "c_node: error: %s\n", message.c_str());
  return code;
}

// SIGHUP: the configuration read again (file, then the same flags over it); what may change
// at runtime changes, the rest is named as needing a restart.
void reload(convoy::Config& running, const std::function<convoy::Result<convoy::Config>()>& load,
            convoy::Discovery* discovery) {
  auto reread = load();
  if (!reread) {
    spdlog::error("SIGHUP: configuration not reloaded, nothing changed: {}",
                  reread.error().message);
    return;
  }
  auto changes = convoy::diff_for_reload(running, *reread);
  if (discovery) {
    auto options = convoy::to_discovery_options(changes.next);
    if (!options) {
      spdlog::error("SIGHUP: configuration not reloaded, nothing changed: {}",
                    options.error().message);
      return;
    }
    if (*options) {
      if (auto st = discovery->reconfigure(std::move(**options)); !st) {
        spdlog::error("SIGHUP: configuration not reloaded, nothing changed: {}",
                      st.error().message);
        return;
      }
    }
  }
  spdlog::set_level(spdlog::level::from_str(changes.next.log_level));
  running = std::move(changes.next);
  for (const auto& c : changes.applied) spdlog::info("SIGHUP: applied {}", c);
  for (const auto& c : changes.restart) {
    spdlog::warn("SIGHUP: {} needs a restart to take effect; the old value stays", c);
  }
  if (changes.applied.empty() && changes.restart.empty()) {
    spdlog::info("SIGHUP: configuration re-read; nothing changed");
  }
}
}  // namespace

int main(int argc, char** argv) {
  // A write to a closed socket or to a log pipe nobody reads is an error to handle (EPIPE),
  // not a reason to die.
  std::signal(SIGPIPE, SIG_IGN);
  // Each link is a descriptor: take every one the hard limit allows (the soft default of
  // 1024 is a few hundred peers and their half-open connections).
  if (rlimit nofile{};
      ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  convoy::Config flags;  // values given on the command line
  std::string cookie, config_file;
  // Flags override the file: each given flag copies its value over the file's.
  std::vector<std::pair<CLI::Option*, std::function<void(convoy::Config&)>>> overrides;
  CLI::App app{"convoy c_node: a native C++ peer for Erlang/Elixir clusters, without epmd",
               "c_node"};
  app.set_version_flag("--version", std::string("c_node (convoy) ") + CONVOY_VERSION);
  auto flag = [&](const std::string& name, auto member, const std::string& help) {
    auto* opt = app.add_option(name, flags.*member, help);
    overrides.emplace_back(opt, [member, &flags](convoy::Config& c) { c.*member = flags.*member; });
    return opt;
  };
  app.add_option("--config", config_file, "TOML file with the same settings (flags win)")
      ->check(CLI::ExistingFile);
  flag("--name", &convoy::Config::name,
       "Node name SNAME-PORT@HOST; the trailing digits of SNAME are the listen port (none: "
       "4370)");
  auto* cookie_opt = app.add_option(
      "--cookie", cookie,
      "Distribution cookie; visible to every local user in ps, so prefer --cookie-file or "
      "$RELEASE_COOKIE (default: $RELEASE_COOKIE, $ERLANG_COOKIE, then ~/.erlang.cookie)");
  flag("--cookie-file", &convoy::Config::cookie_file,
       "File whose first line is the cookie (e.g. a systemd credential: %d/cookie)");
  flag("--listen-address", &convoy::Config::listen_address,
       "Address to bind the distribution port on")
      ->default_str(flags.listen_address);
  flag("--net-ticktime", &convoy::Config::net_ticktime,
       "Seconds of silence after which a peer is considered down")
      ->default_str("60");
  flag("--max-inbound-handshakes", &convoy::Config::max_inbound_handshakes,
       "Connections allowed in their handshake at once; more are closed at once")
      ->default_str("128");
  flag("--log-level", &convoy::Config::log_level, "Log verbosity (the same names as log_level)")
      ->default_str("info")
      ->check(CLI::IsMember(convoy::log_level_names()));
  flag("--consul-service,--query", &convoy::Config::consul_service,
       "SRV name to poll (a bare name means NAME.service.consul); enables discovery. "
       "--query is Caravan 1.x's name for it");
  flag("--node-sname", &convoy::Config::node_sname,
       "Peers are named NODE_SNAME-<srv port>@<srv target>");
  flag("--nameserver", &convoy::Config::nameservers,
       "DNS server IP:PORT, repeatable (default: the system resolver)");
  flag("--poll-interval", &convoy::Config::poll_interval, "Milliseconds between DNS polls")
      ->default_str("5000");
  flag("--prune-after", &convoy::Config::prune_after,
       "Close the link of a peer absent from this many consecutive answers (0: never, as Caravan)")
      ->default_str("0");
  flag("--host-from", &convoy::Config::host_from,
       "Peer host from the SRV 'target' or its 'address' (A/AAAA or Consul .addr. name)")
      ->default_str("target")
      ->check(CLI::IsMember({"target", "address"}));
  flag("--metrics-address", &convoy::Config::metrics_address,
       "Serve /metrics (Prometheus) and /health on IP:PORT, or PORT on 127.0.0.1 (default: off)");
  flag("--health-dns-failures", &convoy::Config::health_dns_failures,
       "DNS polls failed in a row before /health answers 503")
      ->default_str("3");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(kUsageError, e.what());
  }

  // The file, then each flag given over it: at start and again on SIGHUP.
  auto load = [&]() -> convoy::Result<convoy::Config> {
    convoy::Config c;
    if (!config_file.empty()) {
      auto loaded = convoy::load_config_file(config_file);
      if (!loaded) return loaded.error();
      c = std::move(*loaded);
    }
    for (auto& [opt, apply] : overrides) {
      if (opt->count() > 0) apply(c);
    }
    if (cookie_opt->count() > 0) c.cookie = cookie;
    return c;
  };
  auto loaded = load();
  if (!loaded) return fail(kUsageError, loaded.error().message);
  convoy::Config config = std::move(*loaded);

  spdlog::set_default_logger(spdlog::stderr_color_mt("c_node"));
  if (auto st = convoy::validate_log_level(config.log_level); !st) {
    return fail(kUsageError, st.error().message);
  }
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  auto options = convoy::to_node_options(config);
  if (!options) return fail(kUsageError, options.error().message);
  auto discovery_options = convoy::to_discovery_options(config);
  if (!discovery_options) return fail(kUsageError, discovery_options.error().message);
  auto endpoint = convoy::metrics_endpoint(config);
  if (!endpoint) return fail(kUsageError, endpoint.error().message);
  if (cookie_opt->count() > 0) {
    spdlog::warn(
        "--cookie puts the cookie where every local user can read it (ps, "
        "/proc/PID/cmdline); prefer --cookie-file or RELEASE_COOKIE");
  }

  auto node = convoy::Node::start(std::move(*options));
  if (!node) return fail(kRuntimeError, node.error().message);
  // Before any thread starts (the resolver's inherits the mask): every signal a daemon meets
  // is handled on the loop, none ends the node without closing its links.
  if (auto st = (*node)->stop_on_signals({SIGINT, SIGTERM, SIGQUIT}); !st) {
    return fail(kRuntimeError, st.error().message);
  }
  std::unique_ptr<convoy::Discovery> discovery;
  auto hup = (*node)->on_signals({SIGHUP}, [&](convoy::Node&, int) {
    if (config_file.empty()) {
      spdlog::info("SIGHUP: no --config file to re-read; nothing changed");
      return;
    }
    reload(config, load, discovery.get());
  });
  if (!hup) return fail(kRuntimeError, hup.error().message);
  auto ignored = (*node)->on_signals({SIGUSR1, SIGUSR2, SIGALRM}, [](convoy::Node&, int sig) {
    spdlog::info("received signal {} ({}): ignored", sig, ::strsignal(sig));
  });
  if (!ignored) return fail(kRuntimeError, ignored.error().message);
  if (auto st = convoy::install_builtin_services(**node); !st) {
    return fail(kRuntimeError, st.error().message);
  }
  if (*discovery_options) {
    auto d = convoy::Discovery::start(**node, std::move(**discovery_options));
    if (!d) return fail(kUsageError, d.error().message);
    discovery = std::move(*d);
  }
  std::unique_ptr<convoy::StatusServer> status;
  if (*endpoint) {
    auto s = convoy::StatusServer::start(**node,
                                         [&](convoy::Node& n) {
                                           convoy::StatusReport r;
                                           r.metrics.node = n.name().str();
                                           r.metrics.stats = n.stats();
                                           r.metrics.now = n.clock().now();
                                           if (discovery) r.metrics.discovery = discovery->stats();
                                           r.health = convoy::assess_health(
                                               {.node = r.metrics.node,
                                                .accepting = n.accepting(),
                                                .peers = r.metrics.stats.peers_connected,
                                                .discovery = r.metrics.discovery,
                                                .now = r.metrics.now},
                                               config.health_dns_failures);
                                           return r;
                                         },
                                         {.ip = (*endpoint)->ip, .port = (*endpoint)->port});
    if (!s) return fail(kRuntimeError, s.error().message);
    status = std::move(*s);
  }
  convoy::notify_ready(**node, "member of the cluster as " + (*node)->name().str());
  (*node)->run();
  convoy::notify_stopping();
  status.reset();  // before what its requests read
  discovery.reset();
  spdlog::info("stopped");
  return 0;
}
