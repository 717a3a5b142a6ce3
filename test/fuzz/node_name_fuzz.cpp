// libFuzzer target: NodeName::parse on arbitrary text either refuses it with invalid_argument
// or gives a name that prints back to the same text and parses again to an equal name.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "convoy/node_name.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto name = convoy::NodeName::parse(text);
  if (!name) {
    if (name.error().code != make_error_code(convoy::Errc::invalid_argument)) std::abort();
    return 0;
  }
  auto again = convoy::NodeName::parse(name->str());
  if (!again || !(*again == *name)) std::abort();
  return 0;
}
