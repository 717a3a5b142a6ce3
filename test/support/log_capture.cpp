#include "log_capture.hpp"

#include <algorithm>

namespace convoy::test {

LogCapture::LogCapture(spdlog::level::level_enum level)
    : ring_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(20000)),
      logger_level_(spdlog::default_logger()->level()) {
  auto logger = spdlog::default_logger();
  for (auto& sink : logger->sinks()) {
    sink_levels_.push_back(sink->level());
    sink->set_level(std::max(sink->level(), logger_level_));
  }
  logger->sinks().push_back(ring_);
  logger->set_level(level);
}

LogCapture::~LogCapture() {
  auto logger = spdlog::default_logger();
  auto& sinks = logger->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), ring_), sinks.end());
  for (std::size_t i = 0; i < sinks.size() && i < sink_levels_.size(); ++i) {
    sinks[i]->set_level(sink_levels_[i]);
  }
  logger->set_level(logger_level_);
}

std::vector<std::string> LogCapture::lines() const { return ring_->last_formatted(); }

std::size_t LogCapture::count(const std::string& what) const {
  std::size_t n = 0;
  for (const auto& line : lines()) n += line.find(what) != std::string::npos ? 1 : 0;
  return n;
}

std::string LogCapture::text() const {
  std::string out;
  for (const auto& line : lines()) out += line;
  return out;
}

}  // namespace convoy::test
