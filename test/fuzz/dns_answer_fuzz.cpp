// libFuzzer target: a DNS response from the wire (what a nameserver, or anyone spoofing one,
// sends back to a discovery poll) is parsed into SRV records or refused — never a crash or
// an out-of-bounds read.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "convoy/dns.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto answer = convoy::parse_srv_response(std::span(data, size));
  if (!answer) return 0;
  std::size_t text = 0;
  for (const auto& r : answer->records) text += r.target.size();
  for (const auto& a : answer->additional) text += a.name.size();
  return text == static_cast<std::size_t>(-1);
}
