#pragma once
// What encode.cpp, validate.cpp and decode.cpp share: ei's size limit, the error for
// malformed input, and validate().
#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

namespace convoy::ei {

// ei indexes its buffers with int; keep every single piece comfortably below that.
inline constexpr std::size_t kMaxPiece = static_cast<std::size_t>(INT_MAX) - 64;

class Invalid : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Decoding reads untrusted bytes, and ei's decoders take no length: they trust every length
// field and follow every nesting level recursively. So decode() first runs validate(), a
// bounds-checked, iterative walk over the whole term that checks each length against the
// bytes left, caps nesting at kMaxDecodeDepth and rejects anything ei would misread. Only
// when that succeeds are ei's decoders run over the same bytes, and then only over the
// prefix validate() vouched for.
//
// Returns the offset one past the term that starts at bytes[1]; throws Invalid.
std::size_t validate(std::span<const std::uint8_t> bytes);

}  // namespace convoy::ei
