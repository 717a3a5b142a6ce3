#pragma once
// Term: a regular value type for every external-term-format type that erl_interface 5.3
// exposes. Encoding/decoding goes through ei (src/ei/term_codec.cpp); nothing here
// includes <ei.h>.
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "convoy/result.hpp"

namespace convoy {

class Term;

struct Atom {
  std::string name;  // UTF-8
  friend auto operator<=>(const Atom&, const Atom&) = default;
};

// Integers beyond int64 (SMALL_BIG_EXT / LARGE_BIG_EXT). Canonical form: magnitude is
// little-endian base-256 with no trailing zero bytes, and the value does not fit int64
// (the codec and Term::integer constructors normalise, so equality is structural).
struct BigInt {
  bool negative = false;
  std::vector<std::uint8_t> magnitude;
  friend bool operator==(const BigInt&, const BigInt&) = default;
};

// Binary or bitstring: `bits` = number of valid bits in the last byte (1..8); 8 for a
// plain binary. An empty binary has bits == 8.
struct Binary {
  std::vector<std::uint8_t> bytes;
  std::uint8_t bits = 8;
  bool is_bitstring() const noexcept { return bits != 8; }
  friend bool operator==(const Binary&, const Binary&) = default;
};

struct Pid {
  std::string node;
  std::uint32_t num = 0;
  std::uint32_t serial = 0;
  std::uint32_t creation = 0;
  friend auto operator<=>(const Pid&, const Pid&) = default;
};

struct Port {
  std::string node;
  std::uint64_t id = 0;
  std::uint32_t creation = 0;
  friend auto operator<=>(const Port&, const Port&) = default;
};

struct Ref {
  std::string node;
  std::uint32_t creation = 0;
  std::vector<std::uint32_t> ids;  // 1..5 words, as on the wire
  friend auto operator<=>(const Ref&, const Ref&) = default;
};

// fun M:F/A
struct ExportFun {
  std::string module;
  std::string function;
  std::uint32_t arity = 0;
  friend auto operator<=>(const ExportFun&, const ExportFun&) = default;
};

// A local fun (closure). Kept as its exact external encoding (without the 131 version
// byte) so it round-trips unchanged; `module`/`arity` are decoded for display.
struct Closure {
  std::string module;
  std::uint32_t arity = 0;
  std::vector<std::uint8_t> encoded;
  friend bool operator==(const Closure& a, const Closure& b) { return a.encoded == b.encoded; }
};

struct Nil {
  friend auto operator<=>(const Nil&, const Nil&) = default;
};

// Construction throws std::invalid_argument for values Erlang cannot represent (they are
// programming errors, not input errors): atoms that are not UTF-8 or exceed 255 characters,
// non-finite floats, node/module/function names holding NUL bytes (ei passes them as C
// strings), refs without 1..5 id words, fun arities above 255, bitstrings with bits_in_last
// outside 1..8, closures whose `encoded` is not a NEW_FUN_EXT with a matching size field.
//
// Comparison, copying, printing, encoding and destruction recurse on nesting depth; decode()
// refuses input nested deeper than kMaxDecodeDepth, so terms read from the network are safe.
//
// to_string() prints Erlang syntax (UTF-8); where Erlang has no literal syntax it uses:
//   pid      <node.num.serial>          e.g. <'a@host.example'.85.0>   (creation omitted)
//   port     #Port<node.id>
//   ref      #Ref<node.w2.w1.w0>        (id words most significant first, as Erlang does)
//   closure  #Fun<module.arity>
// Node names print as atoms (quoted when needed). Charlists of printable ASCII print as
// "abc", binaries of printable ASCII as <<"abc">>; floats print the shortest text that
// reads back to the same double, always with a '.' (1.0, 1.0e+100).
class Term {
 public:
  enum class Kind {
    integer,
    big_integer,
    float_,
    atom,
    ref,
    closure,
    export_fun,
    port,
    pid,
    tuple,
    map,
    nil,
    string,
    list,
    binary
  };

  Term() : v_(Nil{}) {}  // []

  // --- construction -------------------------------------------------------------------
  static Term integer(std::int64_t v);
  static Term integer(std::uint64_t v);  // becomes a BigInt above INT64_MAX
  // Other integer types (int, unsigned, long long...) would be ambiguous between the two
  // overloads above.
  template <std::integral I>
  requires(!std::same_as<I, bool> && !std::same_as<I, std::int64_t> &&
           !std::same_as<I, std::uint64_t>) static Term integer(I v) {
    if constexpr (std::is_signed_v<I>) {
      return integer(static_cast<std::int64_t>(v));
    } else {
      return integer(static_cast<std::uint64_t>(v));
    }
  }
  static Term big(BigInt v);  // normalised; collapses to integer() if it fits
  static Term float_(double v);
  static Term atom(std::string_view name);
  static Term binary(std::vector<std::uint8_t> bytes);
  static Term binary(std::string_view bytes);
  static Term bitstring(std::vector<std::uint8_t> bytes, std::uint8_t bits_in_last);
  // A charlist (STRING_EXT on the wire). Equal to the list of its byte values.
  static Term string(std::string_view latin1_bytes);
  // Proper if tail == []. A list/string tail is spliced in ([1|[2|x]] becomes [1,2|x]) so
  // equal lists have one representation; no elements with tail t is just t.
  static Term list(std::vector<Term> elements, Term tail = Term());
  static Term tuple(std::vector<Term> elements);
  static Term map(std::vector<std::pair<Term, Term>> entries);  // later duplicate keys win
  static Term nil() { return Term(); }
  static Term pid(Pid p);
  static Term port(Port p);
  static Term ref(Ref r);
  static Term export_fun(ExportFun f);
  static Term closure(Closure c);

  // --- inspection ---------------------------------------------------------------------
  Kind kind() const noexcept;
  bool is_atom() const noexcept { return kind() == Kind::atom; }
  bool is_atom(std::string_view name) const noexcept;
  bool is_integer() const noexcept { return kind() == Kind::integer; }
  bool is_tuple() const noexcept { return kind() == Kind::tuple; }
  bool is_tuple(std::size_t arity) const noexcept;
  bool is_pid() const noexcept { return kind() == Kind::pid; }
  bool is_ref() const noexcept { return kind() == Kind::ref; }
  bool is_nil() const noexcept { return kind() == Kind::nil; }
  bool is_list() const noexcept;  // string, list or nil

  // Accessors return nullptr when the kind differs.
  const std::int64_t* as_integer() const noexcept;
  const BigInt* as_big() const noexcept;
  const double* as_float() const noexcept;
  const Atom* as_atom() const noexcept;
  const Binary* as_binary() const noexcept;
  const std::string* as_string() const noexcept;  // only for Kind::string
  const Pid* as_pid() const noexcept;
  const Port* as_port() const noexcept;
  const Ref* as_ref() const noexcept;
  const ExportFun* as_export_fun() const noexcept;
  const Closure* as_closure() const noexcept;

  // Tuple elements; empty span if not a tuple.
  std::span<const Term> elements() const noexcept;
  // Tuple element i, or nullptr if not a tuple or out of range.
  const Term* element(std::size_t i) const noexcept;
  // List elements (a Kind::string is expanded to integers). Empty for non-lists.
  std::vector<Term> list_elements() const;
  // The elements of a Kind::list without copying; empty for every other kind (including
  // Kind::string, whose bytes are in as_string()).
  std::span<const Term> list_view() const noexcept;
  // Tail of a list (Nil for a proper list); Nil for other kinds.
  const Term& list_tail() const noexcept;
  std::span<const std::pair<Term, Term>> map_entries() const noexcept;  // sorted by key
  const Term* map_get(const Term& key) const noexcept;

  // --- comparison (Erlang term order; 1 == 1.0 compares equal in order but not in ==,
  //     as =:= vs == in Erlang: operator== is exact match) -----------------------------
  friend bool operator==(const Term& a, const Term& b);
  friend std::strong_ordering operator<=>(const Term& a, const Term& b);

  // --- text -----------------------------------------------------------------------------
  std::string to_string() const;  // Erlang syntax, e.g. {ok,[1,2|x],<<1,2>>,#{a => 1}}
  // At most `max_chars` of it, then "...(truncated)"; the rest of the term is not even
  // visited, so printing a 64 MB term for a log line costs what the line shows.
  std::string to_string(std::size_t max_chars) const;
  friend std::ostream& operator<<(std::ostream& os, const Term& t);

  struct ListRep {
    std::vector<Term> elements;  // non-empty
    std::shared_ptr<const Term> tail;
  };
  struct TupleRep {
    std::vector<Term> elements;
  };
  struct MapRep {
    std::vector<std::pair<Term, Term>> entries;  // sorted by key, unique keys
  };
  struct StringRep {
    std::string bytes;  // non-empty
  };

 private:
  using Variant = std::variant<std::int64_t, BigInt, double, Atom, Ref, Closure, ExportFun, Port,
                               Pid, TupleRep, MapRep, Nil, StringRep, ListRep, Binary>;
  explicit Term(Variant v) : v_(std::move(v)) {}
  Variant v_;
};

// decode() rejects terms whose lists/tuples/maps/closures nest deeper than this. Chains of
// improper-list tails ([a|[b|[c|...]]] written as nested LIST_EXT) do not count. The bound
// is set by Term's own recursion, not by decode(): copying or destroying one nesting level
// takes ~100 bytes of stack at -O2 but ~2.8 KB under ASan at -O0, so 1000 levels stay well
// inside a 1 MB thread stack in release and an 8 MB one under the asan preset.
inline constexpr std::size_t kMaxDecodeDepth = 1000;
// Levels a message's envelope may add on top ({'$gen_call', From, {echo, T}} adds two): the
// node decodes message payloads with this much more, so a term that can be sent to a
// process directly can be sent through a gen_server call or an rpc too.
inline constexpr std::size_t kEnvelopeDepth = 4;
// decode()'s default memory budget: large enough for the 64 MiB binaries BEAM nodes send,
// far below what 64 MiB of tiny terms would take (80 bytes each, 40x their wire size).
inline constexpr std::size_t kDefaultMaxDecodedBytes = 256u << 20;

// How much one decode() may build. Both are checked by the walk over the bytes that runs
// before anything is allocated, so an input over either fails fast and costs nothing.
struct DecodeLimits {
  // Nesting; clamped to kMaxDecodeDepth + kEnvelopeDepth (what Term's own recursion is sized
  // for).
  std::size_t max_depth = kMaxDecodeDepth;
  // The decoded Term's estimated memory: sizeof(Term) per term plus the heap data of
  // binaries, strings, long atoms, bignums and list tails. Over it: Errc::limit_exceeded.
  std::size_t max_bytes = kDefaultMaxDecodedBytes;
};

// External term format (with the leading 131 version byte), via ei. Emits what
// term_to_binary(T, [{minor_version, 2}]) emits for the same value (UTF-8 atoms, NEW_PID_EXT,
// NEWER_REFERENCE_EXT, V4_PORT_EXT for ids above 28 bits; proper lists of 0..255 up to
// 65535 long as STRING_EXT; map entries in key order), except that ei writes integers
// beyond 28 bits as SMALL_BIG_EXT where Erlang would still use INTEGER_EXT (same value).
// Throws std::length_error if one binary/string/bignum exceeds ei's int-sized indices
// (about 2 GiB).
std::vector<std::uint8_t> encode(const Term& t);
// Appends t's encoding (with its 131 version byte) to out: distribution frames are a
// sequence of such encodings.
void encode_append(const Term& t, std::vector<std::uint8_t>& out);
// Decodes one term starting at bytes[0] (which must be the 131 version byte).
// On success `consumed` (if given) receives the number of bytes used. Never throws on bad
// input, never reads past bytes.end(); input over `limits` is Errc::limit_exceeded.
Result<Term> decode(std::span<const std::uint8_t> bytes, std::size_t* consumed = nullptr,
                    const DecodeLimits& limits = {});

}  // namespace convoy
