#include "convoy/transport.hpp"

namespace convoy {

bool Transport::needs_lookup(const std::string&) const { return false; }
Result<std::string> Transport::lookup(const std::string& host) { return host; }

namespace {

class TcpTransport final : public Transport {
 public:
  Result<std::unique_ptr<Listener>> listen(const std::string& address,
                                           std::uint16_t port) override {
    return tcp_listen(address, port);
  }
  Result<std::unique_ptr<Socket>> connect(const std::string& host, std::uint16_t port) override {
    return tcp_connect(host, port);
  }
  bool needs_lookup(const std::string& host) const override { return !is_numeric_host(host); }
  Result<std::string> lookup(const std::string& host) override { return lookup_host(host); }
};

}  // namespace

std::shared_ptr<Transport> tcp_transport() { return std::make_shared<TcpTransport>(); }

}  // namespace convoy
