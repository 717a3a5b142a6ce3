// libFuzzer target: an acceptor and an initiator handshake fed arbitrary peer bytes, in
// arbitrary chunks, never crash and never consume more than they were given.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "dist/dist_flags.hpp"
#include "dist/handshake.hpp"

namespace {
void drive(convoy::dist::Handshake h, std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> out, in;
  h.start(out);
  // The first byte chooses the chunk size, so split messages are explored too.
  const std::size_t chunk = data.empty() ? 1 : (data[0] % 16) + 1;
  for (std::size_t off = data.empty() ? 0 : 1; off < data.size(); off += chunk) {
    const auto piece = data.subspan(off, std::min(chunk, data.size() - off));
    in.insert(in.end(), piece.begin(), piece.end());
    std::size_t used = 0;
    const auto st = h.feed(in, used, out);
    if (used > in.size()) std::abort();
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(used));
    if (st != convoy::dist::Handshake::State::in_progress) return;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using convoy::dist::Handshake;
  const convoy::dist::HandshakeParams p{"fuzz-1@127.0.0.1", "cookie", convoy::dist::kOurFlags, 7};
  std::span<const std::uint8_t> bytes(data, size);
  drive(Handshake::acceptor(p, [] { return 42u; }, {}), bytes);
  drive(Handshake::initiator(p, "peer-2@127.0.0.1", [] { return 42u; }), bytes);
  return 0;
}
