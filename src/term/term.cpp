// Term construction (with the checks that keep every Term valid Erlang) and inspection.
#include "convoy/term.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "term/term_internal.hpp"
#include "term/utf8.hpp"

namespace convoy {
namespace {

constexpr std::size_t kMaxAtomChars = 255;
constexpr std::uint8_t kNewFunExt = 112;

void check_atom_text(std::string_view text, const char* what, bool allow_nul) {
  const std::ptrdiff_t chars = term::utf8_length(text);
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
                   [](const auto& a, const auto& b) { return term::key_less(a.first, b.first); });
  std::vector<std::pair<Term, Term>> unique;
  unique.reserve(entries.size());
  for (auto& e : entries) {
    // The sort is stable, so among equal keys the last one given comes last and wins.
    if (!unique.empty() && term::compare_terms(unique.back().first, e.first, true) == 0) {
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
                       [](const auto& e, const Term& k) { return term::key_less(e.first, k); });
  if (it == entries.end() || term::compare_terms(it->first, key, true) != 0) return nullptr;
  return &it->second;
}
}  // namespace convoy
