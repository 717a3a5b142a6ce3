#pragma once
// The c_node's Prometheus metrics: one snapshot of the node (and of discovery, when on) as
// prometheus-cpp metric families, in the text exposition format at /metrics.
#include <optional>
#include <string>

#include "convoy/clock.hpp"
#include "convoy/discovery.hpp"
#include "convoy/stats.hpp"

namespace convoy {

struct MetricsSnapshot {
  std::string node;
  NodeStats stats;
  std::optional<DiscoveryStats> discovery;
  Clock::time_point now{};
};

// Prometheus text format (version 0.0.4), names prefixed convoy_.
std::string metrics_text(const MetricsSnapshot& snapshot);

}  // namespace convoy
