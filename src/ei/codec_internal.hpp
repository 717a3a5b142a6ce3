#pragma once
// What encode.cpp, validate.cpp and decode.cpp share: ei's size limit, the error for
// malformed input, and validate().
#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "convoy/result.hpp"
#include "convoy/term.hpp"

namespace convoy::ei {

// ei indexes its buffers with int; keep every single piece comfortably below that.
inline constexpr std::size_t kMaxPiece = static_cast<std::size_t>(INT_MAX) - 64;

// Every way decode() refuses its input: Errc::decode_error, message "external term: ...".
inline Error decode_error(std::string_view what) {
  return make_error(Errc::decode_error, "external term: " + std::string(what));
}

// Decoding reads untrusted bytes, and ei's decoders take no length: they trust every length
// field and follow every nesting level recursively. So decode() first runs validate(), a
// bounds-checked, iterative walk over the whole term that checks each length against the
// bytes left, caps nesting and the decoded size (DecodeLimits) and rejects anything ei would
// misread. Only when that succeeds are ei's decoders run over the same bytes, and then only over
// the prefix validate() vouched for.
//
// validate() also rejects every value a Term constructor would refuse (atoms that are not
// UTF-8 or exceed 255 characters, inf/NaN, NUL bytes in the names ei returns as C strings,
// refs without 1..5 id words, fun arities above 255, bitstrings whose trailing bit count is
// not 1..8, closures whose size field does not match), so building the Term from bytes it
// accepted cannot throw.
//
// Returns the offset one past the term that starts at bytes[1], or a decode_error. Never
// throws.
Result<std::size_t> validate(std::span<const std::uint8_t> bytes, const DecodeLimits& limits = {});

}  // namespace convoy::ei
