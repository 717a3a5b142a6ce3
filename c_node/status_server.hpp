#pragma once
// StatusServer: the c_node's HTTP endpoint for Prometheus (/metrics) and health checks
// (/health: 200 or 503 with a one-line reason). It runs on its own small thread pool and
// asks the node's loop for each answer, so a loop that stops answering reads as unhealthy
// rather than as stale numbers.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "convoy/node.hpp"
#include "convoy/result.hpp"
#include "health.hpp"
#include "metrics.hpp"

namespace convoy {

struct StatusReport {
  MetricsSnapshot metrics;
  Health health;
};

struct StatusServerOptions {
  std::string ip = "127.0.0.1";
  std::uint16_t port = 0;
  // How long a request waits for the loop before /health answers 503.
  std::chrono::milliseconds loop_timeout{2000};
};

class StatusServer {
 public:
  // `collect` runs on the node's loop thread, once per request.
  using Collect = std::function<StatusReport(Node&)>;
  // Binds at once (a port in use is an error here, not a log line later).
  static Result<std::unique_ptr<StatusServer>> start(Node& node, Collect collect,
                                                     StatusServerOptions options);
  ~StatusServer();  // stops serving; call before the node is destroyed
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  struct State;

 private:
  explicit StatusServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace convoy
