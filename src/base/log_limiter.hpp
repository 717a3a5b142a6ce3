#pragma once
// LogLimiter: lets through at most `per_window` events per window and counts the rest, so
// a storm (ten thousand failed handshakes, a node loss that ends every linked process)
// writes a few lines and a count instead of one line per event. Wall-clock time on
// purpose: it paces what is written, whatever clock the node runs on.
#include <chrono>
#include <cstdint>
#include <utility>

namespace convoy {

class LogLimiter {
 public:
  using clock = std::chrono::steady_clock;
  LogLimiter(unsigned per_window, std::chrono::milliseconds window)
      : per_window_(per_window), window_(window) {}

  // True if this event may be logged now; false if it is only counted.
  bool allow(clock::time_point now = clock::now()) {
    if (now - window_start_ >= window_) {
      window_start_ = now;
      in_window_ = 0;
    }
    if (in_window_ < per_window_) {
      ++in_window_;
      return true;
    }
    ++suppressed_;
    return false;
  }
  // Events refused since the last call; log it with the next line that is let through.
  std::uint64_t take_suppressed() { return std::exchange(suppressed_, 0); }

 private:
  unsigned per_window_;
  std::chrono::milliseconds window_;
  clock::time_point window_start_{};
  unsigned in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace convoy
