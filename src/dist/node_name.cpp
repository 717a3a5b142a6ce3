#include "convoy/node_name.hpp"

#include <fmt/format.h>

#include <ostream>

namespace convoy {
namespace {

// Erlang accepts any atom as a node name, but the alive part also becomes a port and the
// host is resolved; restricting both to the characters hostnames and Erlang short names
// use keeps typos and injected garbage out of the cluster.
bool alive_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
bool host_char_ok(char c) { return alive_char_ok(c) || c == '.' || c == ':'; }

Error bad(std::string_view text, std::string_view why) {
  return make_error(Errc::invalid_argument, fmt::format("invalid node name '{}': {}", text, why));
}

}  // namespace

Result<NodeName> NodeName::parse(std::string_view text) {
  constexpr std::size_t kMaxAtom = 255;
  if (text.size() > kMaxAtom) return bad(text.substr(0, 40), "longer than 255 characters");
  const auto at = text.find('@');
  if (at == std::string_view::npos) return bad(text, "expected alive@host");
  if (text.find('@', at + 1) != std::string_view::npos) return bad(text, "more than one '@'");
  const auto alive = text.substr(0, at);
  const auto host = text.substr(at + 1);
  if (alive.empty()) return bad(text, "empty name before '@'");
  if (host.empty()) return bad(text, "empty host after '@'");
  for (char c : alive) {
    if (!alive_char_ok(c)) return bad(text, fmt::format("illegal character '{}' in name", c));
  }
  for (char c : host) {
    if (!host_char_ok(c)) return bad(text, fmt::format("illegal character '{}' in host", c));
  }
  std::size_t digits_from = alive.size();
  while (digits_from > 0 && alive[digits_from - 1] >= '0' && alive[digits_from - 1] <= '9') {
    --digits_from;
  }
  std::uint16_t port = kDefaultPort;
  if (digits_from < alive.size()) {
    const auto digits = alive.substr(digits_from);
    // Leading zeros are harmless, but more than 5 significant digits cannot be a port.
    std::uint64_t value = 0;
    for (char c : digits) {
      value = value * 10 + static_cast<unsigned>(c - '0');
      if (value > 65535) return bad(text, "port (trailing digits) is above 65535");
    }
    if (value == 0) return bad(text, "port (trailing digits) is 0");
    port = static_cast<std::uint16_t>(value);
  }
  return NodeName(std::string(text), at, port);
}

Result<NodeName> NodeName::from_parts(std::string_view sname, std::uint16_t port,
                                      std::string_view host) {
  return parse(fmt::format("{}-{}@{}", sname, port, host));
}

std::ostream& operator<<(std::ostream& os, const NodeName& n) { return os << n.str(); }

}  // namespace convoy
