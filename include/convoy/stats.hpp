#pragma once
// NodeStats: what a node has done since it started (counters) and holds now (gauges), as a
// plain snapshot for metrics and health checks. Reasons are error_label() names ("closed",
// "timeout", "bad_cookie", ...): a small fixed set, so each is safe as a metric label.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace convoy {

struct NodeStats {
  using ByReason = std::map<std::string, std::uint64_t>;

  // --- gauges --------------------------------------------------------------------------
  std::size_t peers_connected = 0;
  std::size_t processes = 0;
  // Messages (and their bytes) waiting for a link to their peer to come up.
  std::size_t pending_messages = 0;
  std::size_t pending_bytes = 0;

  // --- counters ------------------------------------------------------------------------
  std::uint64_t links_up = 0;
  ByReason links_down;  // an up link closed, by why ("closed": the peer or we closed it)
  // Of links_down: the peer fell silent past net_ticktime.
  std::uint64_t tick_timeouts = 0;
  // Inbound connections: handshakes that proved the cookie, and those that did not finish
  // (refused, failed or timed out), by reason; "limit_exceeded" counts those closed at once
  // because max_inbound_handshakes were already in progress.
  std::uint64_t handshakes_accepted = 0;
  ByReason handshakes_refused;
  ByReason dials_failed;  // our connects and handshakes to peers that failed, by reason
  // Data frames (control message + payload) from and to peers; ticks are not counted.
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t frames_over_decode_limit = 0;  // each closed its link
  std::uint64_t spoofed_frames = 0;            // dropped: the sender was not the link's node
  // Back-pressure episodes: reading paused on one link, or on every link.
  std::uint64_t link_read_pauses = 0;
  std::uint64_t node_read_pauses = 0;

  friend bool operator==(const NodeStats&, const NodeStats&) = default;
};

}  // namespace convoy
