#include "node/exception_reason.hpp"

#include <exception>

namespace convoy::node {

std::string caught_exception_text() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

Term cpp_exception_reason(std::string_view text) {
  return Term::tuple({Term::atom("cpp_exception"), Term::binary(text)});
}

}  // namespace convoy::node
