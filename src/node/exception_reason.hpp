#pragma once
// What a C++ exception that escaped user code becomes: a log text and, for a process whose
// handler threw, an exit reason, as an Erlang process's crash carries its error.
#include <string>
#include <string_view>

#include "convoy/term.hpp"

namespace convoy::node {

// Only inside a catch block: the exception's what(), or a fixed text for anything else.
std::string caught_exception_text();

// {cpp_exception, <<Text>>}
Term cpp_exception_reason(std::string_view text);

}  // namespace convoy::node
