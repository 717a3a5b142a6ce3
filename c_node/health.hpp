#pragma once
// The c_node's health verdict, as /health reports it: healthy while the loop answers, the
// node accepts connections and, with discovery on, DNS has answered within the last
// `dns_failures` polls. Pure: the HTTP side gathers the facts (status_server.hpp).
#include <cstdint>
#include <optional>
#include <string>

#include "convoy/clock.hpp"
#include "convoy/discovery.hpp"

namespace convoy {

struct Health {
  bool ok = false;
  std::string reason;  // one line, for a human reading a Consul or Nomad check
};

struct HealthFacts {
  std::string node;
  bool accepting = true;
  std::size_t peers = 0;
  std::optional<DiscoveryStats> discovery;  // nullopt: discovery is off
  Clock::time_point now{};
};

// `dns_failures`: how many polls in a row may fail before the node reports unhealthy.
Health assess_health(const HealthFacts& facts, int dns_failures);

}  // namespace convoy
