#pragma once
// Terms in log lines: printed only if the line is written (spdlog formats arguments only
// for enabled levels) and cut at kLogTermChars, so a peer's 64 MB term never becomes a
// 128 MB log line or a stall while the level is off.
#include <fmt/format.h>

#include <cstddef>
#include <string_view>

#include "convoy/term.hpp"

namespace convoy {

inline constexpr std::size_t kLogTermChars = 200;

struct Printed {
  const Term& term;
};
inline Printed printed(const Term& t) { return {t}; }

}  // namespace convoy

template <>
struct fmt::formatter<convoy::Printed> : fmt::formatter<std::string_view> {
  auto format(const convoy::Printed& p, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(p.term.to_string(convoy::kLogTermChars), ctx);
  }
};
