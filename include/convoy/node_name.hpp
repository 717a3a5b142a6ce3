#pragma once
// NodeName: a distribution node name "alive@host" that also carries its listen port,
// following Caravan's epmd-less rule: the trailing decimal digits of the alive part are
// the port ("app-4371@h" -> 4371, "web2@h" -> 2, "a-1-22@h" -> 22); no digits -> 4370.
#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "convoy/result.hpp"

namespace convoy {

class NodeName {
 public:
  static constexpr std::uint16_t kDefaultPort = 4370;

  // Validates and parses; the only place that knows the port rule. Errors carry
  // Errc::invalid_argument and a message naming the offending input.
  static Result<NodeName> parse(std::string_view text);
  // The name a Caravan-style strategy builds from an SRV record: "<sname>-<port>@<host>".
  static Result<NodeName> from_parts(std::string_view sname, std::uint16_t port,
                                     std::string_view host);

  const std::string& str() const noexcept { return text_; }
  std::string_view alive() const noexcept { return std::string_view(text_).substr(0, at_); }
  std::string_view host() const noexcept { return std::string_view(text_).substr(at_ + 1); }
  std::uint16_t port() const noexcept { return port_; }

  friend bool operator==(const NodeName& a, const NodeName& b) { return a.text_ == b.text_; }
  friend std::strong_ordering operator<=>(const NodeName& a, const NodeName& b) {
    return a.text_ <=> b.text_;
  }
  friend std::ostream& operator<<(std::ostream& os, const NodeName& n);

 private:
  NodeName(std::string text, std::size_t at, std::uint16_t port)
      : text_(std::move(text)), at_(at), port_(port) {}
  std::string text_;
  std::size_t at_ = 0;
  std::uint16_t port_ = kDefaultPort;
};

}  // namespace convoy

template <>
struct std::hash<convoy::NodeName> {
  std::size_t operator()(const convoy::NodeName& n) const noexcept {
    return std::hash<std::string>{}(n.str());
  }
};
