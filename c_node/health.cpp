#include "health.hpp"

#include <fmt/format.h>

namespace convoy {

Health assess_health(const HealthFacts& f, int dns_failures) {
  if (!f.accepting) {
    return {false,
            fmt::format("{} is not accepting connections (out of file descriptors?)", f.node)};
  }
  std::string dns;
  if (f.discovery) {
    const DiscoveryStats& d = *f.discovery;
    if (d.consecutive_failures >= static_cast<std::uint64_t>(dns_failures)) {
      return {false, fmt::format("DNS discovery failed the last {} polls: {}",
                                 d.consecutive_failures, d.last_error)};
    }
    if (d.last_success) {
      const auto age =
          std::chrono::duration_cast<std::chrono::milliseconds>(f.now - *d.last_success);
      dns = fmt::format("; DNS answered {:.1f} s ago with {} peer(s)", age.count() / 1000.0,
                        d.known_peers);
    } else {
      dns = "; DNS has not answered yet";
    }
  }
  return {true, fmt::format("{} is up with {} peer(s){}", f.node, f.peers, dns)};
}

}  // namespace convoy
