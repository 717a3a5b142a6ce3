// libFuzzer target: decoding untrusted external-term bytes never crashes, never reads out of
// bounds, and whatever decodes re-encodes to bytes that decode to an equal term.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "convoy/term.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t used = 0;
  auto t = convoy::decode(std::span(data, size), &used);
  if (!t) return 0;
  if (used > size) std::abort();
  const auto bytes = convoy::encode(*t);
  auto again = convoy::decode(bytes);
  if (!again || !(*again == *t)) std::abort();
  (void)t->to_string();
  return 0;
}
