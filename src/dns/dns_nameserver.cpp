#include <arpa/inet.h>
#include <fmt/format.h>

#include <string_view>

#include "convoy/dns.hpp"

namespace convoy {
namespace {

Error bad(std::string_view text, std::string_view why) {
  return make_error(Errc::invalid_argument, fmt::format("invalid nameserver '{}': {}", text, why));
}

bool is_ipv4(const std::string& ip) {
  in_addr a{};
  return ::inet_pton(AF_INET, ip.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& ip) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, ip.c_str(), &a) == 1;
}

// Digits only: std::from_chars and stoi would accept "+53" or " 53", which are typos here.
Result<std::uint16_t> parse_port(std::string_view text, std::string_view port) {
  if (port.empty()) return bad(text, "empty port after ':'");
  if (port.size() > 5) return bad(text, "port is above 65535");
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad(text, fmt::format("port '{}' is not a number", port));
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0) return bad(text, "port is 0");
  if (value > 65535) return bad(text, "port is above 65535");
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<Nameserver> Nameserver::parse(std::string_view text) {
  Nameserver ns;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad(text, "missing ']' after IPv6 address");
    ns.ip = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad(text, "expected ':PORT' after ']'");
      port_text = rest.substr(1);
      has_port = true;
    }
    if (!is_ipv6(ns.ip)) return bad(text, "not an IPv6 address inside [...]");
  } else if (text.find(':') != text.rfind(':')) {
    // Several colons without brackets can only be a bare IPv6 address; "::1:53" would be
    // ambiguous, so a port needs the [addr]:port form.
    ns.ip = std::string(text);
    if (!is_ipv6(ns.ip)) return bad(text, "expected IPv4[:PORT], IPv6 or [IPv6]:PORT");
  } else {
    const auto colon = text.find(':');
    ns.ip = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      has_port = true;
    }
    if (ns.ip.empty()) return bad(text, "empty address");
    if (!is_ipv4(ns.ip))
      return bad(text, "not an IP address (expected IPv4[:PORT] or [IPv6]:PORT)");
  }
  if (has_port) {
    auto port = parse_port(text, port_text);
    if (!port) return port.error();
    ns.port = *port;
  }
  return ns;
}

std::string Nameserver::to_string() const {
  if (ip.find(':') != std::string::npos) return fmt::format("[{}]:{}", ip, port);
  return fmt::format("{}:{}", ip, port);
}

}  // namespace convoy
