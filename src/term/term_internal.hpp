#pragma once
// Erlang term order for the other term/ files: construction sorts and looks up map keys
// with it. Defined in term_order.cpp.
#include "convoy/term.hpp"

namespace convoy::term {

// <0, 0 or >0. `exact` is map-key order (=:=), the order operator== agrees with; without
// it, 1 and 1.0 compare equal as in Erlang's ==.
int compare_terms(const Term& a, const Term& b, bool exact);

bool key_less(const Term& a, const Term& b);

}  // namespace convoy::term
