#include "systemd_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <chrono>
#include <cstring>

#include "convoy/node.hpp"

namespace convoy {
namespace {

void ping_watchdog(Node& node, std::chrono::milliseconds every) {
  (void)::sd_notify(0, "WATCHDOG=1");
  node.after(every, [every](Node& n) { ping_watchdog(n, every); });
}

}  // namespace

void notify_ready(Node& node, const std::string& status) {
  const std::string message = "READY=1\nSTATUS=" + status;
  const int sent = ::sd_notify(0, message.c_str());
  if (sent < 0) {
    spdlog::warn("could not tell systemd the node is ready: {}", std::strerror(-sent));
  } else if (sent > 0) {
    spdlog::debug("told systemd the node is ready");
  }
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    const auto every = std::chrono::milliseconds(std::max<std::uint64_t>(usec / 2000, 1));
    spdlog::info("pinging the systemd watchdog every {} ms", every.count());
    ping_watchdog(node, every);
  }
}

void notify_stopping() { (void)::sd_notify(0, "STOPPING=1"); }

}  // namespace convoy
