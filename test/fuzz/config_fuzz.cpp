// libFuzzer target: the c_node's TOML config from arbitrary text loads or is refused with
// one invalid_argument error naming the file — never a crash or an escaped exception — and
// what loads converts to node options or is refused the same way.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = convoy::load_config_text(text, "fuzz.toml");
  if (!config) {
    if (config.error().code != make_error_code(convoy::Errc::invalid_argument)) std::abort();
    return 0;
  }
  config->cookie = "fuzz";  // never fall back to the environment or ~/.erlang.cookie
  (void)convoy::to_node_options(*config);
  (void)convoy::to_discovery_options(*config);
  return 0;
}
