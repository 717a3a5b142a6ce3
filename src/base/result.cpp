#include "convoy/result.hpp"

namespace convoy {
namespace {
class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "convoy"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::invalid_argument:
        return "invalid argument";
      case Errc::decode_error:
        return "undecodable external term";
      case Errc::encode_error:
        return "term cannot be encoded";
      case Errc::handshake_failed:
        return "distribution handshake failed";
      case Errc::bad_cookie:
        return "cookie digest mismatch";
      case Errc::timeout:
        return "timed out";
      case Errc::io_error:
        return "I/O error";
      case Errc::closed:
        return "connection closed";
      case Errc::not_connected:
        return "not connected";
      case Errc::protocol_error:
        return "distribution protocol violation";
      case Errc::dns_error:
        return "DNS lookup failed";
      case Errc::noproc:
        return "no such process";
      case Errc::process_exit:
        return "process exited";
      case Errc::limit_exceeded:
        return "limit exceeded";
    }
    return "unknown convoy error";
  }
};
}  // namespace

const std::error_category& convoy_category() noexcept {
  static const Category category;
  return category;
}

const char* error_label(const std::error_code& code) noexcept {
  if (code.category() != convoy_category()) return "other";
  switch (static_cast<Errc>(code.value())) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::decode_error:
      return "decode_error";
    case Errc::encode_error:
      return "encode_error";
    case Errc::handshake_failed:
      return "handshake_failed";
    case Errc::bad_cookie:
      return "bad_cookie";
    case Errc::timeout:
      return "timeout";
    case Errc::io_error:
      return "io_error";
    case Errc::closed:
      return "closed";
    case Errc::not_connected:
      return "not_connected";
    case Errc::protocol_error:
      return "protocol_error";
    case Errc::dns_error:
      return "dns_error";
    case Errc::noproc:
      return "noproc";
    case Errc::process_exit:
      return "process_exit";
    case Errc::limit_exceeded:
      return "limit_exceeded";
  }
  return "other";
}
}  // namespace convoy
