#pragma once
// CannedDnsServer: ldns-testns on a free 127.0.0.1 port, replaying answers from an entries
// file (see ldns-testns(1)): chosen by query name, transport (UDP/TCP) and EDNS0 presence,
// which is how tests reproduce Consul's silent 3-record cap on plain UDP answers.
// The server process is killed (by PID) and its directory removed on destruction.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "harness.hpp"

namespace convoy::test {

class CannedDnsServer {
 public:
  explicit CannedDnsServer(const std::string& entries);
  ~CannedDnsServer();
  CannedDnsServer(const CannedDnsServer&) = delete;
  CannedDnsServer& operator=(const CannedDnsServer&) = delete;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::optional<Process> process_;
};

}  // namespace convoy::test
