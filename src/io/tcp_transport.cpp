#include "convoy/transport.hpp"

namespace convoy {
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
};

}  // namespace

std::shared_ptr<Transport> tcp_transport() { return std::make_shared<TcpTransport>(); }

}  // namespace convoy
