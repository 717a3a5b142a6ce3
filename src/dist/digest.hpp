#pragma once
// The distribution handshake digest: MD5(cookie ++ decimal(challenge)) (dist_util:gen_digest).
#include <array>
#include <cstdint>
#include <string_view>

namespace convoy::dist {

using Digest = std::array<std::uint8_t, 16>;
Digest gen_digest(std::uint32_t challenge, std::string_view cookie);
// Constant-time comparison, so a peer probing digests learns nothing from timing.
bool digest_equal(const Digest& a, const std::uint8_t* b) noexcept;

}  // namespace convoy::dist
