#pragma once
// LogCapture: what this process's convoy code logs (spdlog's default logger), kept in memory
// for the test to inspect. While it lives the logger runs at `level`; the sinks that were
// there keep their own verbosity, so a debug capture does not flood the test output.
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace convoy::test {

class LogCapture {
 public:
  explicit LogCapture(spdlog::level::level_enum level = spdlog::level::debug);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> lines() const;
  std::size_t count(const std::string& what) const;  // lines containing `what`
  std::string text() const;                          // every line, for failure messages

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> ring_;
  spdlog::level::level_enum logger_level_;
  std::vector<spdlog::level::level_enum> sink_levels_;
};

}  // namespace convoy::test
