#pragma once
// Result<T>: the error policy of convoy's boundary. Expected failures (bad names, bad
// bytes from the network, refused handshakes, DNS, config) come back as a value-or-Error;
// exceptions are reserved for programming errors.
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace convoy {

struct Error {
  std::error_code code;
  std::string message;  // human readable, one line, safe to log (never holds the cookie)

  friend bool operator==(const Error&, const Error&) = default;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void> analogue.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_{};
  bool ok_ = true;
};

// Error categories: each boundary has its own enum, mapped to std::error_code.
enum class Errc {
  invalid_argument = 1,  // malformed name, config value, flag
  decode_error,          // bytes that are not a valid external term / frame
  encode_error,
  handshake_failed,  // refused or malformed distribution handshake
  bad_cookie,        // digest mismatch
  timeout,
  io_error,  // socket level failure (errno in message)
  closed,    // peer closed the link
  not_connected,
  protocol_error,  // a well-formed frame that violates the protocol
  dns_error,
  noproc,          // no such process / registered name
  process_exit,    // the process a call waited on ended
  limit_exceeded,  // a configured bound (size, count, lookups in flight) was reached
};

const std::error_category& convoy_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), convoy_category()};
}
inline Error make_error(Errc e, std::string message) {
  return Error{make_error_code(e), std::move(message)};
}
// The Errc's name ("timeout", "bad_cookie", ...) of a convoy error code, "other" for any
// other: a short stable word for metric labels and log fields.
const char* error_label(const std::error_code& code) noexcept;

}  // namespace convoy

template <>
struct std::is_error_code_enum<convoy::Errc> : std::true_type {};
