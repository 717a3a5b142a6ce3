#include "convoy/term.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <ostream>
#include <stdexcept>

namespace convoy {
namespace {

constexpr std::size_t kMaxAtomChars = 255;
constexpr std::uint8_t kNewFunExt = 112;

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF): Erlang rejects such
// atoms, so accepting them here would only move the failure to the peer.
// Returns the number of code points, or -1.
std::ptrdiff_t utf8_length(std::string_view s) {
  std::ptrdiff_t chars = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      cp = c;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return -1;
    }
    if (s.size() - i <= extra) return -1;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) return -1;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return -1;
    }
    i += extra + 1;
    ++chars;
  }
  return chars;
}

void check_atom_text(std::string_view text, const char* what, bool allow_nul) {
  const std::ptrdiff_t chars = utf8_length(text);
  if (chars < 0) throw std::invalid_argument(std::string(what) + " is not valid UTF-8");
  if (static_cast<std::size_t>(chars) > kMaxAtomChars) {
    throw std::invalid_argument(std::string(what) + " is longer than 255 characters");
  }
  if (!allow_nul && text.find('\0') != std::string_view::npos) {
    throw std::invalid_argument(std::string(what) + " contains a NUL byte");
  }
}

const std::shared_ptr<const Term>& nil_tail() {
  // Proper lists all share one tail instead of allocating their own [].
  static const auto tail = std::make_shared<const Term>();
  return tail;
}

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

std::string big_to_decimal(const BigInt& b) {
  std::vector<std::uint32_t> limbs((b.magnitude.size() + 3) / 4, 0);
  for (std::size_t i = 0; i < b.magnitude.size(); ++i) {
    limbs[i / 4] |= static_cast<std::uint32_t>(b.magnitude[i]) << (8 * (i % 4));
  }
  std::string digits;  // least significant first
  while (!limbs.empty()) {
    std::uint64_t rem = 0;
    for (std::size_t i = limbs.size(); i-- > 0;) {
      const std::uint64_t cur = (rem << 32) | limbs[i];
      limbs[i] = static_cast<std::uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
    for (int k = 0; k < 9 && (rem != 0 || !limbs.empty()); ++k) {
      digits.push_back(static_cast<char>('0' + rem % 10));
      rem /= 10;
    }
  }
  if (digits.empty()) digits = "0";
  if (b.negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
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

int compare_terms(const Term& a, const Term& b, bool exact);

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

// ---- printing -----------------------------------------------------------------------------

bool is_reserved_word(std::string_view s) {
  static constexpr std::array<std::string_view, 29> kWords = {
      "after", "and",   "andalso", "band",   "begin",   "bnot", "bor", "bsl",  "bsr", "bxor",
      "case",  "catch", "cond",    "div",    "else",    "end",  "fun", "if",   "let", "maybe",
      "not",   "of",    "or",      "orelse", "receive", "rem",  "try", "when", "xor"};
  return std::find(kWords.begin(), kWords.end(), s) != kWords.end();
}

bool atom_needs_quotes(std::string_view s) {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return true;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '@';
    if (!ok) return true;
  }
  return is_reserved_word(s);
}

// Escapes one byte inside a quoted atom or string. Bytes >= 0x80 (UTF-8) are kept.
void append_escaped(std::string& out, unsigned char c, char quote) {
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\v':
      out += "\\v";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case 27:
      out += "\\e";
      return;
    case 127:
      out += "\\d";
      return;
    case '\\':
      out += "\\\\";
      return;
    default:
      break;
  }
  if (c == static_cast<unsigned char>(quote)) {
    out += '\\';
    out += quote;
  } else if (c < 32) {
    out += '\\';
    out += static_cast<char>('0' + ((c >> 6) & 7));
    out += static_cast<char>('0' + ((c >> 3) & 7));
    out += static_cast<char>('0' + (c & 7));
  } else {
    out += static_cast<char>(c);
  }
}

void append_atom(std::string& out, std::string_view name) {
  if (!atom_needs_quotes(name)) {
    out += name;
    return;
  }
  out += '\'';
  for (char c : name) append_escaped(out, static_cast<unsigned char>(c), '\'');
  out += '\'';
}

// io_lib's printable ASCII: what Erlang would show as a string.
bool printable_char(std::int64_t c) {
  return (c >= 32 && c <= 126) || (c >= 8 && c <= 13) || c == 27;
}

void append_quoted(std::string& out, const auto& chars) {
  out += '"';
  for (auto c : chars) append_escaped(out, static_cast<unsigned char>(c), '"');
  out += '"';
}

void append_double(std::string& out, double d) {
  std::array<char, 64> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  std::string text(buf.data(), res.ptr);
  // Erlang float literals need a '.' with digits on both sides.
  if (text.find_first_of(".e") == std::string::npos) {
    text += ".0";
  } else if (text.find('.') == std::string::npos) {
    text.insert(text.find('e'), ".0");
  }
  out += text;
}

void print(std::string& out, const Term& t);

void print_list(std::string& out, const Term& t) {
  // Printable charlists (either representation) print as strings so that equal terms
  // print the same.
  std::string chars;
  bool printable = t.list_tail().is_nil();
  if (const std::string* s = t.as_string()) {
    printable = std::all_of(s->begin(), s->end(),
                            [](char c) { return printable_char(static_cast<unsigned char>(c)); });
    if (printable) {
      append_quoted(out, *s);
      return;
    }
  } else if (printable) {
    for (const Term& e : t.list_view()) {
      const std::int64_t* i = e.as_integer();
      if (i == nullptr || !printable_char(*i)) {
        printable = false;
        break;
      }
      chars += static_cast<char>(*i);
    }
    if (printable) {
      append_quoted(out, chars);
      return;
    }
  }
  out += '[';
  if (const std::string* s = t.as_string()) {
    for (std::size_t i = 0; i < s->size(); ++i) {
      if (i > 0) out += ',';
      out += std::to_string(static_cast<unsigned char>((*s)[i]));
    }
  } else {
    bool first = true;
    for (const Term& e : t.list_view()) {
      if (!first) out += ',';
      first = false;
      print(out, e);
    }
  }
  if (!t.list_tail().is_nil()) {
    out += '|';
    print(out, t.list_tail());
  }
  out += ']';
}

void print_binary(std::string& out, const Binary& b) {
  out += "<<";
  const bool printable =
      !b.bytes.empty() && !b.is_bitstring() &&
      std::all_of(b.bytes.begin(), b.bytes.end(), [](std::uint8_t c) { return printable_char(c); });
  if (printable) {
    append_quoted(out, b.bytes);
  } else {
    for (std::size_t i = 0; i < b.bytes.size(); ++i) {
      if (i > 0) out += ',';
      if (i + 1 == b.bytes.size() && b.is_bitstring()) {
        out += std::to_string(b.bytes[i] >> (8 - b.bits));
        out += ':';
        out += std::to_string(b.bits);
      } else {
        out += std::to_string(b.bytes[i]);
      }
    }
  }
  out += ">>";
}

void print(std::string& out, const Term& t) {
  switch (t.kind()) {
    case Kind::integer:
      out += std::to_string(*t.as_integer());
      return;
    case Kind::big_integer:
      out += big_to_decimal(*t.as_big());
      return;
    case Kind::float_:
      append_double(out, *t.as_float());
      return;
    case Kind::atom:
      append_atom(out, t.as_atom()->name);
      return;
    case Kind::ref: {
      const Ref& r = *t.as_ref();
      out += "#Ref<";
      append_atom(out, r.node);
      for (std::size_t i = r.ids.size(); i-- > 0;) {
        out += '.';
        out += std::to_string(r.ids[i]);
      }
      out += '>';
      return;
    }
    case Kind::closure: {
      const Closure& c = *t.as_closure();
      out += "#Fun<";
      append_atom(out, c.module);
      out += '.';
      out += std::to_string(c.arity);
      out += '>';
      return;
    }
    case Kind::export_fun: {
      const ExportFun& f = *t.as_export_fun();
      out += "fun ";
      append_atom(out, f.module);
      out += ':';
      append_atom(out, f.function);
      out += '/';
      out += std::to_string(f.arity);
      return;
    }
    case Kind::port: {
      const Port& p = *t.as_port();
      out += "#Port<";
      append_atom(out, p.node);
      out += '.';
      out += std::to_string(p.id);
      out += '>';
      return;
    }
    case Kind::pid: {
      const Pid& p = *t.as_pid();
      out += '<';
      append_atom(out, p.node);
      out += '.';
      out += std::to_string(p.num);
      out += '.';
      out += std::to_string(p.serial);
      out += '>';
      return;
    }
    case Kind::tuple: {
      out += '{';
      bool first = true;
      for (const Term& e : t.elements()) {
        if (!first) out += ',';
        first = false;
        print(out, e);
      }
      out += '}';
      return;
    }
    case Kind::map: {
      out += "#{";
      bool first = true;
      for (const auto& [k, v] : t.map_entries()) {
        if (!first) out += ',';
        first = false;
        print(out, k);
        out += " => ";
        print(out, v);
      }
      out += '}';
      return;
    }
    case Kind::nil:
      out += "[]";
      return;
    case Kind::string:
    case Kind::list:
      print_list(out, t);
      return;
    case Kind::binary:
      print_binary(out, *t.as_binary());
      return;
  }
}

}  // namespace

// ---- construction -------------------------------------------------------------------------

Term Term::integer(std::int64_t v) { return Term(Variant(v)); }

Term Term::integer(std::uint64_t v) {
  if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return Term(Variant(static_cast<std::int64_t>(v)));
  }
  BigInt b;
  for (; v != 0; v >>= 8) b.magnitude.push_back(static_cast<std::uint8_t>(v));
  return Term(Variant(std::move(b)));
}

Term Term::big(BigInt v) {
  while (!v.magnitude.empty() && v.magnitude.back() == 0) v.magnitude.pop_back();
  if (v.magnitude.size() <= 8) {
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < v.magnitude.size(); ++i) {
      u |= static_cast<std::uint64_t>(v.magnitude[i]) << (8 * i);
    }
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!v.negative && u <= kMax) return integer(static_cast<std::int64_t>(u));
    if (v.negative && u <= kMax + 1) {
      // -(2^63) has no positive counterpart; build it from -(u - 1) - 1.
      return integer(u == 0 ? std::int64_t{0} : -static_cast<std::int64_t>(u - 1) - 1);
    }
  }
  return Term(Variant(std::move(v)));
}

Term Term::float_(double v) {
  if (!std::isfinite(v)) throw std::invalid_argument("Term::float_: Erlang has no inf/NaN");
  return Term(Variant(v));
}

Term Term::atom(std::string_view name) {
  check_atom_text(name, "atom", true);
  return Term(Variant(Atom{std::string(name)}));
}

Term Term::binary(std::vector<std::uint8_t> bytes) {
  return Term(Variant(Binary{std::move(bytes), 8}));
}

Term Term::binary(std::string_view bytes) {
  return binary(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

Term Term::bitstring(std::vector<std::uint8_t> bytes, std::uint8_t bits_in_last) {
  if (bits_in_last < 1 || bits_in_last > 8) {
    throw std::invalid_argument("Term::bitstring: bits_in_last must be 1..8");
  }
  if (bytes.empty()) return binary(std::move(bytes));
  // Bits past the end are not part of the value; zero them so == can compare bytes.
  bytes.back() = static_cast<std::uint8_t>(bytes.back() & (0xFFu << (8 - bits_in_last)));
  return Term(Variant(Binary{std::move(bytes), bits_in_last}));
}

Term Term::string(std::string_view latin1_bytes) {
  if (latin1_bytes.empty()) return nil();
  return Term(Variant(StringRep{std::string(latin1_bytes)}));
}

Term Term::list(std::vector<Term> elements, Term tail) {
  if (auto* rep = std::get_if<ListRep>(&tail.v_)) {
    elements.insert(elements.end(), std::make_move_iterator(rep->elements.begin()),
                    std::make_move_iterator(rep->elements.end()));
    Term rest = *rep->tail;
    tail = std::move(rest);
  } else if (auto* str = std::get_if<StringRep>(&tail.v_)) {
    elements.reserve(elements.size() + str->bytes.size());
    for (char c : str->bytes)
      elements.push_back(integer(std::int64_t{static_cast<unsigned char>(c)}));
    tail = Term();
  }
  if (elements.empty()) return tail;
  auto tail_ptr = tail.is_nil() ? nil_tail() : std::make_shared<const Term>(std::move(tail));
  return Term(Variant(ListRep{std::move(elements), std::move(tail_ptr)}));
}

Term Term::tuple(std::vector<Term> elements) {
  return Term(Variant(TupleRep{std::move(elements)}));
}

Term Term::map(std::vector<std::pair<Term, Term>> entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return key_less(a.first, b.first); });
  std::vector<std::pair<Term, Term>> unique;
  unique.reserve(entries.size());
  for (auto& e : entries) {
    // The sort is stable, so among equal keys the last one given comes last and wins.
    if (!unique.empty() && compare_terms(unique.back().first, e.first, true) == 0) {
      unique.back() = std::move(e);
    } else {
      unique.push_back(std::move(e));
    }
  }
  return Term(Variant(MapRep{std::move(unique)}));
}

Term Term::pid(Pid p) {
  check_atom_text(p.node, "pid node name", false);
  return Term(Variant(std::move(p)));
}

Term Term::port(Port p) {
  check_atom_text(p.node, "port node name", false);
  return Term(Variant(std::move(p)));
}

Term Term::ref(Ref r) {
  check_atom_text(r.node, "ref node name", false);
  if (r.ids.empty() || r.ids.size() > 5) {
    throw std::invalid_argument("Term::ref: a reference has 1..5 id words");
  }
  return Term(Variant(std::move(r)));
}

Term Term::export_fun(ExportFun f) {
  check_atom_text(f.module, "fun module", false);
  check_atom_text(f.function, "fun name", false);
  if (f.arity > 255) throw std::invalid_argument("Term::export_fun: arity above 255");
  return Term(Variant(std::move(f)));
}

Term Term::closure(Closure c) {
  check_atom_text(c.module, "closure module", true);
  if (c.arity > 255) throw std::invalid_argument("Term::closure: arity above 255");
  const auto& e = c.encoded;
  if (e.size() < 5 || e[0] != kNewFunExt) {
    throw std::invalid_argument("Term::closure: encoded is not a NEW_FUN_EXT");
  }
  const std::uint64_t size = (std::uint64_t{e[1]} << 24) | (std::uint64_t{e[2]} << 16) |
                             (std::uint64_t{e[3]} << 8) | std::uint64_t{e[4]};
  if (size != e.size() - 1) {
    throw std::invalid_argument("Term::closure: NEW_FUN_EXT size field does not match");
  }
  return Term(Variant(std::move(c)));
}

// ---- inspection ---------------------------------------------------------------------------

// The variant alternatives are declared in Kind's order.
Term::Kind Term::kind() const noexcept { return static_cast<Kind>(v_.index()); }

bool Term::is_atom(std::string_view name) const noexcept {
  const Atom* a = as_atom();
  return a != nullptr && a->name == name;
}

bool Term::is_tuple(std::size_t arity) const noexcept {
  const auto* t = std::get_if<TupleRep>(&v_);
  return t != nullptr && t->elements.size() == arity;
}

bool Term::is_list() const noexcept {
  const Kind k = kind();
  return k == Kind::string || k == Kind::list || k == Kind::nil;
}

const std::int64_t* Term::as_integer() const noexcept { return std::get_if<std::int64_t>(&v_); }
const BigInt* Term::as_big() const noexcept { return std::get_if<BigInt>(&v_); }
const double* Term::as_float() const noexcept { return std::get_if<double>(&v_); }
const Atom* Term::as_atom() const noexcept { return std::get_if<Atom>(&v_); }
const Binary* Term::as_binary() const noexcept { return std::get_if<Binary>(&v_); }
const std::string* Term::as_string() const noexcept {
  const auto* s = std::get_if<StringRep>(&v_);
  return s ? &s->bytes : nullptr;
}
const Pid* Term::as_pid() const noexcept { return std::get_if<Pid>(&v_); }
const Port* Term::as_port() const noexcept { return std::get_if<Port>(&v_); }
const Ref* Term::as_ref() const noexcept { return std::get_if<Ref>(&v_); }
const ExportFun* Term::as_export_fun() const noexcept { return std::get_if<ExportFun>(&v_); }
const Closure* Term::as_closure() const noexcept { return std::get_if<Closure>(&v_); }

std::span<const Term> Term::elements() const noexcept {
  const auto* t = std::get_if<TupleRep>(&v_);
  return t ? std::span<const Term>(t->elements) : std::span<const Term>();
}

const Term* Term::element(std::size_t i) const noexcept {
  const auto e = elements();
  return i < e.size() ? &e[i] : nullptr;
}

std::vector<Term> Term::list_elements() const {
  if (const auto* l = std::get_if<ListRep>(&v_)) return l->elements;
  std::vector<Term> out;
  if (const auto* s = std::get_if<StringRep>(&v_)) {
    out.reserve(s->bytes.size());
    for (char c : s->bytes) out.push_back(integer(std::int64_t{static_cast<unsigned char>(c)}));
  }
  return out;
}

std::span<const Term> Term::list_view() const noexcept {
  const auto* l = std::get_if<ListRep>(&v_);
  return l ? std::span<const Term>(l->elements) : std::span<const Term>();
}

const Term& Term::list_tail() const noexcept {
  if (const auto* l = std::get_if<ListRep>(&v_)) return *l->tail;
  return *nil_tail();
}

std::span<const std::pair<Term, Term>> Term::map_entries() const noexcept {
  const auto* m = std::get_if<MapRep>(&v_);
  return m ? std::span<const std::pair<Term, Term>>(m->entries)
           : std::span<const std::pair<Term, Term>>();
}

const Term* Term::map_get(const Term& key) const noexcept {
  const auto entries = map_entries();
  const auto it =
      std::lower_bound(entries.begin(), entries.end(), key,
                       [](const auto& e, const Term& k) { return key_less(e.first, k); });
  if (it == entries.end() || compare_terms(it->first, key, true) != 0) return nullptr;
  return &it->second;
}

// ---- comparison ---------------------------------------------------------------------------

bool operator==(const Term& a, const Term& b) { return compare_terms(a, b, true) == 0; }

std::strong_ordering operator<=>(const Term& a, const Term& b) {
  const int c = compare_terms(a, b, false);
  return c < 0 ? std::strong_ordering::less
               : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
}

// ---- text ---------------------------------------------------------------------------------

std::string Term::to_string() const {
  std::string out;
  print(out, *this);
  return out;
}

std::ostream& operator<<(std::ostream& os, const Term& t) { return os << t.to_string(); }

}  // namespace convoy
