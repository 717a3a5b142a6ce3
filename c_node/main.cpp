// c_node: a convoy node as a daemon. Wires flags -> Config -> Node + built-in services.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "convoy/config.hpp"
#include "convoy/node.hpp"
#include "convoy/services.hpp"

namespace {
constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "c_node: error: %s\n", message.c_str());
  return code;
}
}  // namespace

int main(int argc, char** argv) {
  convoy::Config config;
  std::string cookie;
  CLI::App app{"convoy c_node: a native C++ peer for Erlang/Elixir clusters, without epmd",
               "c_node"};
  app.set_version_flag("--version", std::string("c_node (convoy) ") + CONVOY_VERSION);
  app.add_option("--name", config.name,
                 "Node name SNAME-PORT@HOST; the trailing digits of SNAME are the listen port "
                 "(none: 4370)")
      ->required();
  auto* cookie_opt = app.add_option(
      "--cookie", cookie, "Distribution cookie (default: $ERLANG_COOKIE, then ~/.erlang.cookie)");
  app.add_option("--listen-address", config.listen_address,
                 "Address to bind the distribution port on")
      ->capture_default_str();
  app.add_option("--net-ticktime", config.net_ticktime,
                 "Seconds of silence after which a peer is considered down")
      ->capture_default_str();
  app.add_option("--log-level", config.log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(kUsageError, e.what());
  }
  if (cookie_opt->count() > 0) config.cookie = cookie;

  auto logger = spdlog::stderr_color_mt("c_node");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  auto options = convoy::to_node_options(config);
  if (!options) return fail(kUsageError, options.error().message);
  auto node = convoy::Node::start(std::move(*options));
  if (!node) return fail(kRuntimeError, node.error().message);
  if (auto st = (*node)->stop_on_signals({SIGINT, SIGTERM}); !st) {
    return fail(kRuntimeError, st.error().message);
  }
  if (auto st = convoy::install_builtin_services(**node); !st) {
    return fail(kRuntimeError, st.error().message);
  }
  (*node)->run();
  spdlog::info("stopped");
  return 0;
}
