#pragma once
// The strict UTF-8 rule atoms follow, shared by Term's constructors and the decoder's
// validator (which must refuse first whatever a constructor would refuse).
#include <cstddef>
#include <string_view>

namespace convoy::term {

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF): Erlang rejects such
// atoms. Returns the number of code points, or -1.
std::ptrdiff_t utf8_length(std::string_view s);

}  // namespace convoy::term
