// External term format -> Term through erl_interface: decode(), over the bytes validate()
// has vouched for. No exceptions on any input: every failure is a decode_error value.
#include <ei.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "convoy/term.hpp"
#include "ei/codec_internal.hpp"
#include "ei/identity.hpp"

namespace convoy {
namespace {

using ei::decode_error;

constexpr std::uint8_t kVersionMagic = 131;

// Runs only over bytes validate() accepted, so its failure paths are ei disagreeing with
// the validator. They "cannot happen", but they are reached from bytes, so they come back
// as errors. The validator has also refused every value a Term constructor would throw on.
class Decoder {
 public:
  explicit Decoder(const char* buf) : buf_(buf) {}

  int index() const { return index_; }

  // Recursion depth is bounded by the validator's nesting limit; bulky ei structs live in
  // the noinline leaf readers so these recursive frames stay small.
  Result<Term> term() {
    int type = 0;
    int size = 0;
    if (ei_get_type(buf_, &index_, &type, &size) < 0) return rejected();
    switch (type) {
      case ERL_SMALL_INTEGER_EXT:
      case ERL_INTEGER_EXT: {
        long long v = 0;
        if (ei_decode_longlong(buf_, &index_, &v) < 0) return rejected();
        return Term::integer(std::int64_t{v});
      }
      case ERL_SMALL_BIG_EXT:
      case ERL_LARGE_BIG_EXT:
        return big(size);
      case ERL_FLOAT_EXT:
        return float_();
      case ERL_ATOM_EXT:
        return atom();
      case ERL_PID_EXT:
        return pid();
      case ERL_PORT_EXT:
        return port();
      case ERL_REFERENCE_EXT:
      case ERL_NEW_REFERENCE_EXT:
        return ref();
      case ERL_NIL_EXT: {
        int n = 0;
        if (ei_decode_list_header(buf_, &index_, &n) < 0) return rejected();
        return Term::nil();
      }
      case ERL_STRING_EXT:
        return string(size);
      case ERL_LIST_EXT:
        return list();
      case ERL_SMALL_TUPLE_EXT:
      case ERL_LARGE_TUPLE_EXT:
        return tuple();
      case ERL_MAP_EXT:
        return map();
      case ERL_BINARY_EXT:
        return binary(size);
      case ERL_BIT_BINARY_EXT:
        return bitstring();
      case ERL_NEW_FUN_EXT:
      case ERL_EXPORT_EXT:
        return fun(type);
      default:
        return decode_error("ei reports an unexpected term type");
    }
  }

 private:
  static Error rejected() { return decode_error("erl_interface rejected the term"); }

  [[gnu::noinline]] Result<Term> float_() {
    double v = 0;
    if (ei_decode_double(buf_, &index_, &v) < 0) return rejected();
    // The validator parsed the text the same way; keep Term::float_ from ever seeing inf.
    if (!std::isfinite(v)) return decode_error("non-finite float");
    return Term::float_(v);
  }

  // Atom text, as UTF-8. ei NUL-terminates without returning a length, so work the length
  // out from the header: Latin-1 bytes >= 0x80 become two UTF-8 bytes.
  [[gnu::noinline]] Result<Term> atom() {
    const auto* s = reinterpret_cast<const unsigned char*>(buf_) + index_;
    const bool small = s[0] == ERL_SMALL_ATOM_EXT || s[0] == ERL_SMALL_ATOM_UTF8_EXT;
    const bool utf8 = s[0] == ERL_ATOM_UTF8_EXT || s[0] == ERL_SMALL_ATOM_UTF8_EXT;
    const std::size_t len = small ? s[1] : (std::size_t{s[1]} << 8 | s[2]);
    const unsigned char* text = s + (small ? 2 : 3);
    std::size_t out_len = len;
    if (!utf8)
      out_len += static_cast<std::size_t>(
          std::count_if(text, text + len, [](unsigned char c) { return c >= 0x80; }));
    char out[MAXATOMLEN_UTF8];
    if (ei_decode_atom_as(buf_, &index_, out, sizeof out, ERLANG_UTF8, nullptr, nullptr) < 0) {
      return rejected();
    }
    return Term::atom(std::string_view(out, out_len));
  }

  [[gnu::noinline]] Result<Term> big(int digit_bytes) {
    const auto n = static_cast<std::size_t>(digit_bytes);
    std::vector<unsigned short> digits(n / 2 + 1, 0);
    erlang_big b{};
    b.arity = static_cast<unsigned int>(n);
    b.digits = digits.data();
    if (ei_decode_big(buf_, &index_, &b) < 0) return rejected();
    BigInt v;
    v.negative = b.is_neg != 0;
    v.magnitude.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      v.magnitude[i] = static_cast<std::uint8_t>(digits[i / 2] >> (8 * (i % 2)));
    }
    return Term::big(std::move(v));
  }

  [[gnu::noinline]] Result<Term> pid() {
    erlang_pid p{};
    if (ei_decode_pid(buf_, &index_, &p) < 0) return rejected();
    return Term::pid(Pid{p.node, p.num, p.serial, p.creation});
  }

  [[gnu::noinline]] Result<Term> port() {
    erlang_port p{};
    if (ei_decode_port(buf_, &index_, &p) < 0) return rejected();
    return Term::port(Port{p.node, p.id, p.creation});
  }

  [[gnu::noinline]] Result<Term> ref() {
    erlang_ref r{};
    if (ei_decode_ref(buf_, &index_, &r) < 0) return rejected();
    if (r.len < 1 || r.len > 5) return decode_error("reference with other than 1..5 id words");
    return Term::ref(Ref{r.node, r.creation, std::vector<std::uint32_t>(r.n, r.n + r.len)});
  }

  [[gnu::noinline]] Result<Term> fun(int type) {
    const int start = index_;
    erlang_fun f{};
    // ei may have allocated (free variables, a long function name) even when it fails.
    struct Release {
      erlang_fun* f;
      ~Release() { free_fun(f); }
    } release{&f};
    if (ei_decode_fun(buf_, &index_, &f) < 0) return rejected();
    if (f.arity < 0 || f.arity > 255) return decode_error("fun arity out of range");
    const auto arity = static_cast<std::uint32_t>(f.arity);
    if (type == ERL_EXPORT_EXT) return Term::export_fun(ExportFun{f.module, f.u.exprt.func, arity});
    const auto* p = reinterpret_cast<const std::uint8_t*>(buf_);
    return Term::closure(
        Closure{f.module, arity, std::vector<std::uint8_t>(p + start, p + index_)});
  }

  [[gnu::noinline]] Result<Term> string(int len) {
    std::string s(static_cast<std::size_t>(len) + 1, '\0');
    if (ei_decode_string(buf_, &index_, s.data()) < 0) return rejected();
    s.resize(static_cast<std::size_t>(len));
    return Term::string(s);
  }

  [[gnu::noinline]] Result<Term> binary(int len) {
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(len));
    std::uint8_t dummy = 0;  // ei memmove()s even zero bytes; give it a real address
    long got = 0;
    if (ei_decode_binary(buf_, &index_, bytes.empty() ? &dummy : bytes.data(), &got) < 0) {
      return rejected();
    }
    if (got != len) return decode_error("binary length mismatch");
    return Term::binary(std::move(bytes));
  }

  [[gnu::noinline]] Result<Term> bitstring() {
    const char* p = nullptr;
    unsigned int offset = 0;
    std::size_t nbits = 0;
    if (ei_decode_bitstring(buf_, &index_, &p, &offset, &nbits) < 0) return rejected();
    if (offset != 0) return decode_error("unexpected bit offset from ei");
    const auto* first = reinterpret_cast<const std::uint8_t*>(p);
    std::vector<std::uint8_t> bytes(first, first + (nbits + 7) / 8);
    const auto rest = static_cast<std::uint8_t>(nbits % 8);
    return Term::bitstring(std::move(bytes), rest == 0 ? 8 : rest);
  }

  // Appends `n` terms to `out`, stopping at the first that fails.
  Status terms(int n, std::vector<Term>& out) {
    for (int i = 0; i < n; ++i) {
      Result<Term> t = term();
      if (!t) return t.error();
      out.push_back(std::move(t).value());
    }
    return {};
  }

  Result<Term> tuple() {
    int n = 0;
    if (ei_decode_tuple_header(buf_, &index_, &n) < 0) return rejected();
    std::vector<Term> elements;
    elements.reserve(static_cast<std::size_t>(n));
    if (Status st = terms(n, elements); !st) return st.error();
    return Term::tuple(std::move(elements));
  }

  Result<Term> map() {
    const int start = index_;
    int n = 0;
    if (ei_decode_map_header(buf_, &index_, &n) < 0) return rejected();
    std::vector<std::pair<Term, Term>> entries;
    entries.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      Result<Term> k = term();
      if (!k) return k;
      Result<Term> v = term();
      if (!v) return v;
      entries.emplace_back(std::move(k).value(), std::move(v).value());
    }
    Term m = Term::map(std::move(entries));
    if (m.map_entries().size() != static_cast<std::size_t>(n)) {
      return decode_error(fmt::format("map with a duplicate key (at byte {})", start));
    }
    return m;
  }

  // A LIST_EXT whose tail is another LIST_EXT is one longer list; gather the whole chain
  // here so neither the stack nor Term::list's splicing grows with its length.
  Result<Term> list() {
    std::vector<Term> elements;
    for (;;) {
      int n = 0;
      if (ei_decode_list_header(buf_, &index_, &n) < 0) return rejected();
      if (elements.empty()) elements.reserve(static_cast<std::size_t>(n));
      if (Status st = terms(n, elements); !st) return st.error();
      int type = 0;
      int size = 0;
      if (ei_get_type(buf_, &index_, &type, &size) < 0) return rejected();
      if (type == ERL_LIST_EXT) continue;
      if (type == ERL_NIL_EXT) {
        if (ei_decode_list_header(buf_, &index_, &n) < 0) return rejected();
        return Term::list(std::move(elements));
      }
      Result<Term> tail = term();
      if (!tail) return tail;
      return Term::list(std::move(elements), std::move(tail).value());
    }
  }

  const char* buf_;
  int index_ = 1;  // past the version byte
};

}  // namespace

Result<Term> decode(std::span<const std::uint8_t> bytes, std::size_t* consumed,
                    const DecodeLimits& limits) {
  ei::ensure_initialised();
  if (bytes.empty()) return decode_error("no bytes");
  if (bytes[0] != kVersionMagic) {
    return decode_error("missing version byte 131 (got " + std::to_string(bytes[0]) + ")");
  }
  const Result<std::size_t> end = ei::validate(bytes, limits);
  if (!end) return end.error();
  Decoder d(reinterpret_cast<const char*>(bytes.data()));
  Result<Term> t = d.term();
  if (!t) return t;
  if (static_cast<std::size_t>(d.index()) != *end) {
    return decode_error("erl_interface and the validator disagree on the term's length");
  }
  if (consumed != nullptr) *consumed = *end;
  return t;
}

}  // namespace convoy
