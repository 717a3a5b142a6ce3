#pragma once
// StreamSocket: a Socket over any connected, non-blocking stream descriptor (a TCP socket,
// one end of a socketpair).
#include <memory>
#include <string>

#include "convoy/socket.hpp"
#include "io/fd.hpp"

namespace convoy::io {

std::unique_ptr<Socket> make_stream_socket(Fd fd, std::string peer_address);

}  // namespace convoy::io
