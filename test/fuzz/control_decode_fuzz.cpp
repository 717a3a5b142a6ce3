// libFuzzer target: a data frame body from a peer either decodes to a typed control message
// (which re-encodes to a body that decodes to the same frame) or is refused with a
// ControlErrc — never a crash, an exception or an out-of-bounds read.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dist/control.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto frame = convoy::dist::decode_frame(std::span(data, size));
  if (!frame) {
    // Refused by the protocol, or over the decode limit (which small inputs cannot reach).
    if (frame.error().code.category() != convoy::dist::control_category() &&
        frame.error().code != make_error_code(convoy::Errc::limit_exceeded)) {
      std::abort();
    }
    return 0;
  }
  std::vector<std::uint8_t> body;
  convoy::dist::encode(frame->control, body, frame->payload ? &*frame->payload : nullptr);
  auto again = convoy::dist::decode_frame(body);
  if (!again || !(*again == *frame)) std::abort();
  (void)convoy::dist::to_string(frame->control);
  return 0;
}
