#include "status_server.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <optional>
#include <thread>

namespace convoy {

struct StatusServer::State {
  Node& node;
  Collect collect;
  StatusServerOptions options;
  httplib::Server http;
  std::thread thread;
  std::atomic<bool> stopping{false};

  State(Node& n, Collect c, StatusServerOptions o)
      : node(n), collect(std::move(c)), options(std::move(o)) {}

  // The loop's answer, or nullopt if it gave none in time (or the server is stopping).
  std::optional<StatusReport> ask_loop() {
    auto promise = std::make_shared<std::promise<StatusReport>>();
    auto future = promise->get_future();
    node.post([promise, collect = collect](Node& n) { promise->set_value(collect(n)); });
    // In slices, so stopping the server never waits out a whole timeout.
    const auto deadline = std::chrono::steady_clock::now() + options.loop_timeout;
    while (!stopping && std::chrono::steady_clock::now() < deadline) {
      if (future.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready) {
        return future.get();
      }
    }
    return std::nullopt;
  }

  void routes() {
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      auto report = ask_loop();
      if (!report) {
        res.status = 503;
        res.set_content(unresponsive() + "\n", "text/plain; charset=utf-8");
        return;
      }
      res.set_content(metrics_text(report->metrics), "text/plain; version=0.0.4; charset=utf-8");
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      auto report = ask_loop();
      const Health h = report ? report->health : Health{false, unresponsive()};
      res.status = h.ok ? 200 : 503;
      res.set_content(h.reason + "\n", "text/plain; charset=utf-8");
      if (!h.ok) spdlog::debug("/health: 503: {}", h.reason);
    });
  }

  std::string unresponsive() const {
    return fmt::format("the event loop did not answer within {} ms", options.loop_timeout.count());
  }
};

StatusServer::StatusServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

Result<std::unique_ptr<StatusServer>> StatusServer::start(Node& node, Collect collect,
                                                          StatusServerOptions options) {
  auto state = std::make_unique<State>(node, std::move(collect), std::move(options));
  auto& http = state->http;
  // A scraper and a health checker: two workers are plenty, and bounded requests keep a
  // stuck or hostile client from holding them.
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);
  http.set_keep_alive_max_count(100);
  http.set_keep_alive_timeout(5);
  http.set_payload_max_length(4096);
  // httplib's default adds SO_REUSEPORT, which would let a second c_node share the port
  // silently; a port in use must fail the start instead.
  http.set_socket_options([](socket_t sock) {
    const int yes = 1;
    (void)::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  state->routes();
  const auto& o = state->options;
  if (!http.bind_to_port(o.ip, o.port)) {
    return make_error(Errc::io_error,
                      fmt::format("cannot listen for metrics on {}:{} (in use, or not an address "
                                  "of this host)",
                                  o.ip, o.port));
  }
  State* raw = state.get();
  state->thread = std::thread([raw] { raw->http.listen_after_bind(); });
  // httplib's stop() is lost on a server not yet running: let it start before anyone can
  // stop it. (It sets the flag first thing, so this takes microseconds.)
  for (int i = 0; i < 2000 && !http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("metrics at http://{0}:{1}/metrics, health at http://{0}:{1}/health",
               o.ip.find(':') != std::string::npos ? "[" + o.ip + "]" : o.ip, o.port);
  return std::unique_ptr<StatusServer>(new StatusServer(std::move(state)));
}

StatusServer::~StatusServer() {
  state_->stopping = true;
  state_->http.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace convoy
