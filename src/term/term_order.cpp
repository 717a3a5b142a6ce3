// Erlang term order: operator==, operator<=> and the compare_terms() behind them.
#include <algorithm>
#include <cmath>
#include <compare>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "convoy/term.hpp"
#include "term/term_internal.hpp"

namespace convoy::term {
namespace {

// ---- numbers ----------------------------------------------------------------------------

int sign_of(auto v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); }

int compare_magnitudes(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (std::size_t i = a.size(); i-- > 0;) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

int compare_bigs(const BigInt& a, const BigInt& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  const int c = compare_magnitudes(a.magnitude, b.magnitude);
  return a.negative ? -c : c;
}

constexpr double kTwo63 = 9223372036854775808.0;

// Exact comparison (Erlang converts whichever side is less precise, which amounts to
// comparing the mathematical values).
int compare_int_double(std::int64_t i, double d) {
  if (d >= kTwo63) return -1;
  if (d < -kTwo63) return 1;
  const double whole = std::trunc(d);
  const auto t = static_cast<std::int64_t>(whole);
  if (i != t) return i < t ? -1 : 1;
  return -sign_of(d - whole);
}

// Canonical BigInts lie outside int64, so a double inside int64's range is decided by the
// BigInt's sign; a double outside it has no fraction and converts exactly.
int compare_big_double(const BigInt& b, double d) {
  if (d >= -kTwo63 && d < kTwo63) return b.negative ? -1 : 1;
  int exp = 0;
  const double frac = std::frexp(std::fabs(d), &exp);  // |d| = frac * 2^exp, exp >= 64
  auto mantissa = static_cast<std::uint64_t>(std::ldexp(frac, 53));
  const int shift = exp - 53;
  mantissa <<= shift % 8;
  BigInt other{d < 0, std::vector<std::uint8_t>(static_cast<std::size_t>(shift / 8), 0)};
  for (; mantissa != 0; mantissa >>= 8) {
    other.magnitude.push_back(static_cast<std::uint8_t>(mantissa));
  }
  return compare_bigs(b, other);
}

// ---- comparison --------------------------------------------------------------------------

using Kind = Term::Kind;

int rank(Kind k) {
  switch (k) {
    case Kind::integer:
    case Kind::big_integer:
    case Kind::float_:
      return 0;
    case Kind::atom:
      return 1;
    case Kind::ref:
      return 2;
    case Kind::closure:
    case Kind::export_fun:
      return 3;
    case Kind::port:
      return 4;
    case Kind::pid:
      return 5;
    case Kind::tuple:
      return 6;
    case Kind::map:
      return 7;
    case Kind::nil:
      return 8;
    case Kind::string:
    case Kind::list:
      return 9;
    case Kind::binary:
      return 10;
  }
  return 11;
}
constexpr int kListRank = 9;

int compare_strings(std::string_view a, std::string_view b) {
  const int c = a.compare(b);
  return sign_of(c);
}

int compare_numbers(const Term& a, const Term& b, bool exact) {
  const Kind ka = a.kind();
  const Kind kb = b.kind();
  const bool fa = ka == Kind::float_;
  const bool fb = kb == Kind::float_;
  if (fa && fb) {
    const double x = *a.as_float();
    const double y = *b.as_float();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  // Map key order (and =:=) treats every integer as less than every float.
  if (exact && fa != fb) return fa ? 1 : -1;
  if (fa) return -compare_numbers(b, a, exact);
  if (fb) {
    const double d = *b.as_float();
    return ka == Kind::integer ? compare_int_double(*a.as_integer(), d)
                               : compare_big_double(*a.as_big(), d);
  }
  if (ka == Kind::integer && kb == Kind::integer) {
    const std::int64_t x = *a.as_integer();
    const std::int64_t y = *b.as_integer();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (ka == Kind::big_integer && kb == Kind::big_integer)
    return compare_bigs(*a.as_big(), *b.as_big());
  // Canonical BigInts never fit int64, so the sign of the BigInt decides.
  if (ka == Kind::big_integer) return a.as_big()->negative ? -1 : 1;
  return b.as_big()->negative ? 1 : -1;
}

// Walks a list (Kind::list or Kind::string) cell by cell, stepping into the tail once the
// elements run out; the tail of a normalised list is never itself a list.
class ListCursor {
 public:
  explicit ListCursor(const Term& t) : t_(&t) {}

  bool at_cell() const {
    if (const std::string* s = t_->as_string()) return i_ < s->size();
    return i_ < t_->list_view().size();
  }
  bool is_byte() const { return t_->as_string() != nullptr; }
  std::uint8_t byte() const { return static_cast<std::uint8_t>((*t_->as_string())[i_]); }
  const Term& head() const { return t_->list_view()[i_]; }
  const Term& rest() const { return *t_; }  // only valid when !at_cell()
  void next() {
    ++i_;
    if (!at_cell()) {
      t_ = &t_->list_tail();
      i_ = 0;
    }
  }

 private:
  const Term* t_;
  std::size_t i_ = 0;
};

int compare_lists(const Term& a, const Term& b, bool exact) {
  if (a.as_string() && b.as_string()) return compare_strings(*a.as_string(), *b.as_string());
  ListCursor ca(a);
  ListCursor cb(b);
  for (;;) {
    const bool ha = ca.at_cell();
    const bool hb = cb.at_cell();
    if (!ha && !hb) return compare_terms(ca.rest(), cb.rest(), exact);
    if (!ha || !hb) {
      // One side still has cells, i.e. its remainder is a non-empty list; the other side
      // reached a tail of a different kind.
      const int tail_rank = rank((ha ? cb : ca).rest().kind());
      const int c = tail_rank < kListRank ? 1 : -1;  // sign for "the list side"
      return ha ? c : -c;
    }
    int c = 0;
    if (ca.is_byte() && cb.is_byte()) {
      c = ca.byte() < cb.byte() ? -1 : (ca.byte() > cb.byte() ? 1 : 0);
    } else if (ca.is_byte()) {
      c = compare_terms(Term::integer(std::int64_t{ca.byte()}), cb.head(), exact);
    } else if (cb.is_byte()) {
      c = compare_terms(ca.head(), Term::integer(std::int64_t{cb.byte()}), exact);
    } else {
      c = compare_terms(ca.head(), cb.head(), exact);
    }
    if (c != 0) return c;
    ca.next();
    cb.next();
  }
}

int compare_binaries(const Binary& a, const Binary& b) {
  const std::size_t abits = a.bytes.empty() ? 0 : (a.bytes.size() - 1) * 8 + a.bits;
  const std::size_t bbits = b.bytes.empty() ? 0 : (b.bytes.size() - 1) * 8 + b.bits;
  const std::size_t common = std::min(abits, bbits);
  const std::size_t whole = common / 8;
  if (whole > 0) {
    const int c = std::memcmp(a.bytes.data(), b.bytes.data(), whole);
    if (c != 0) return sign_of(c);
  }
  const std::size_t left = common % 8;
  if (left > 0) {
    const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - left));
    const auto x = static_cast<std::uint8_t>(a.bytes[whole] & mask);
    const auto y = static_cast<std::uint8_t>(b.bytes[whole] & mask);
    if (x != y) return x < y ? -1 : 1;
  }
  return abits < bbits ? -1 : (abits > bbits ? 1 : 0);
}

// Node identity as ERTS orders it: name, then creation.
int compare_nodes(const std::string& an, std::uint32_t ac, const std::string& bn,
                  std::uint32_t bc) {
  if (const int c = compare_strings(an, bn)) return c;
  return ac < bc ? -1 : (ac > bc ? 1 : 0);
}

int compare_refs(const Ref& a, const Ref& b) {
  if (const int c = compare_nodes(a.node, a.creation, b.node, b.creation)) return c;
  // ERTS compares id words from the most significant down, a missing word counting as 0.
  const std::size_t n = std::max(a.ids.size(), b.ids.size());
  for (std::size_t i = n; i-- > 0;) {
    const std::uint32_t x = i < a.ids.size() ? a.ids[i] : 0;
    const std::uint32_t y = i < b.ids.size() ? b.ids[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  // Erlang would call these equal; keeping the order total keeps it consistent with ==.
  return a.ids.size() < b.ids.size() ? -1 : (a.ids.size() > b.ids.size() ? 1 : 0);
}

template <class T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

int compare_terms(const Term& a, const Term& b, bool exact) {
  const Kind ka = a.kind();
  const Kind kb = b.kind();
  const int ra = rank(ka);
  const int rb = rank(kb);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (ka) {
    case Kind::integer:
    case Kind::big_integer:
    case Kind::float_:
      return compare_numbers(a, b, exact);
    case Kind::atom:
      return compare_strings(a.as_atom()->name, b.as_atom()->name);
    case Kind::ref:
      return compare_refs(*a.as_ref(), *b.as_ref());
    case Kind::closure:
    case Kind::export_fun: {
      if (ka != kb) return ka == Kind::closure ? -1 : 1;
      if (ka == Kind::export_fun) {
        const ExportFun& x = *a.as_export_fun();
        const ExportFun& y = *b.as_export_fun();
        if (const int c = compare_strings(x.module, y.module)) return c;
        if (const int c = compare_strings(x.function, y.function)) return c;
        return three_way(x.arity, y.arity);
      }
      const Closure& x = *a.as_closure();
      const Closure& y = *b.as_closure();
      if (const int c = compare_strings(x.module, y.module)) return c;
      return three_way(x.encoded, y.encoded);
    }
    case Kind::port: {
      const Port& x = *a.as_port();
      const Port& y = *b.as_port();
      if (const int c = compare_nodes(x.node, x.creation, y.node, y.creation)) return c;
      return three_way(x.id, y.id);
    }
    case Kind::pid: {
      // ERTS orders pids by serial and number before the node.
      const Pid& x = *a.as_pid();
      const Pid& y = *b.as_pid();
      if (x.serial != y.serial) return x.serial < y.serial ? -1 : 1;
      if (x.num != y.num) return x.num < y.num ? -1 : 1;
      return compare_nodes(x.node, x.creation, y.node, y.creation);
    }
    case Kind::tuple: {
      const auto x = a.elements();
      const auto y = b.elements();
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (const int c = compare_terms(x[i], y[i], exact)) return c;
      }
      return 0;
    }
    case Kind::map: {
      // Erlang: size, then keys in map-key (exact) order, then values in key order.
      const auto x = a.map_entries();
      const auto y = b.map_entries();
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (const int c = compare_terms(x[i].first, y[i].first, true)) return c;
      }
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (const int c = compare_terms(x[i].second, y[i].second, exact)) return c;
      }
      return 0;
    }
    case Kind::nil:
      return 0;
    case Kind::string:
    case Kind::list:
      return compare_lists(a, b, exact);
    case Kind::binary:
      return compare_binaries(*a.as_binary(), *b.as_binary());
  }
  return 0;
}

bool key_less(const Term& a, const Term& b) { return compare_terms(a, b, true) < 0; }

}  // namespace convoy::term

namespace convoy {

bool operator==(const Term& a, const Term& b) { return term::compare_terms(a, b, true) == 0; }

std::strong_ordering operator<=>(const Term& a, const Term& b) {
  const int c = term::compare_terms(a, b, false);
  return c < 0 ? std::strong_ordering::less
               : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

}  // namespace convoy
