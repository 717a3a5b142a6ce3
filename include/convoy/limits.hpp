#pragma once
// Limits: every bound a node keeps on what peers can make it hold. A peer that reaches one
// gets a log line and the documented consequence (a frame refused, a link closed, reading
// paused); never a crash, and never another peer's loss. docs/SECURITY.md lists them.
#include <cstddef>

#include "convoy/term.hpp"

namespace convoy {

struct Limits {
  // One distribution frame, as its 4-byte length announces it. Over it, the link closes
  // before any of the frame is buffered. BEAM sends 64 MiB terms without complaint.
  std::size_t max_frame_bytes = 128u << 20;
  // Estimated memory of one decoded message (DecodeLimits::max_bytes). Over it, the link that
  // sent it closes: 30 MB of `[]` would otherwise decode to gigabytes.
  std::size_t max_decoded_bytes = kDefaultMaxDecodedBytes;
  // Messages and bytes held for a peer while a link to it is set up; past either, a send to
  // it fails (sends never block).
  std::size_t max_pending_per_peer = 100000;
  std::size_t max_pending_bytes_per_peer = 64u << 20;
  // Accepted connections still in their handshake; past this, new ones are closed at once,
  // so a connect storm or a slowloris cannot take every file descriptor.
  std::size_t max_inbound_handshakes = 128;
  // Dials (host lookups and connects) in progress at once; past this, a dial fails at once.
  std::size_t max_dials = 256;
  // Output waiting on one link, and on all links together: over either, the node stops
  // reading from the links whose output is over its share until it drains below half (the
  // policy of BEAM's dist_buf_busy_limit). A link whose output passes max_link_backlog
  // (a peer that never reads) is closed.
  std::size_t link_output_high_water = 8u << 20;
  std::size_t node_output_high_water = 256u << 20;
  std::size_t max_link_backlog = 512u << 20;
  // Links and monitors one remote node may hold on local processes; past it a new one is
  // refused at once with system_limit (an exit signal to the linker, a 'DOWN' to the
  // monitor). Each costs a few hundred bytes until undone or the node goes.
  std::size_t max_holds_per_node = 100000;
};

}  // namespace convoy
