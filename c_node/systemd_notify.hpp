#pragma once
// The daemon's side of systemd's notify protocol (Type=notify, WatchdogSec=): READY=1 once
// the node listens and its services run, WATCHDOG=1 pings from the node's loop (so a stalled
// loop stops them and systemd restarts the daemon), STOPPING=1 on the way out. Without
// $NOTIFY_SOCKET (not under systemd) every call does nothing.
#include <string>

namespace convoy {

class Node;

// Sends READY=1 with a STATUS line and, if systemd asked for a watchdog, starts pinging it
// from `node`'s loop at half the interval systemd gave.
void notify_ready(Node& node, const std::string& status);
// Sends STOPPING=1.
void notify_stopping();

}  // namespace convoy
