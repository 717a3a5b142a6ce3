#pragma once
// Clock: the node owns time through this seam so tick and handshake timeouts can be
// driven from tests without sleeping.
#include <chrono>

namespace convoy {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace convoy
