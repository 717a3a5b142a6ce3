#include "canned_dns_server.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace convoy::test {

CannedDnsServer::CannedDnsServer(const std::string& entries) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "convoy-testns-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::ofstream(dir_ / "entries") << entries;
  port_ = free_port();
  while (is_udp_bound(port_)) port_ = free_port();
  process_.emplace(std::vector<std::string>{"ldns-testns", "-p", std::to_string(port_),
                                            (dir_ / "entries").string()});
  if (!wait_udp_bound(port_, std::chrono::seconds(10)) ||
      !wait_listening(port_, std::chrono::seconds(10))) {
    throw std::runtime_error("ldns-testns did not start:\n" + process_->output());
  }
}
CannedDnsServer::~CannedDnsServer() {
  process_.reset();
  std::error_code ec;
  if (std::getenv("CONVOY_KEEP_LOGS") == nullptr) std::filesystem::remove_all(dir_, ec);
}

}  // namespace convoy::test
