#pragma once
// Helpers shared by the term_*_test.cpp files (header-only, inline): Term builders, decode and
// round-trip checks, byte vectors from a real Erlang node, and a random term generator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "convoy/term.hpp"

namespace convoy::test {

using Bytes = std::vector<std::uint8_t>;

inline Term I(std::int64_t v) { return Term::integer(v); }
inline Term A(std::string_view s) { return Term::atom(s); }
inline Term F(double d) { return Term::float_(d); }
inline Term L(std::vector<Term> e, Term tail = Term()) {
  return Term::list(std::move(e), std::move(tail));
}
inline Term T(std::vector<Term> e) { return Term::tuple(std::move(e)); }

inline Term big(bool negative, std::vector<std::uint8_t> magnitude) {
  return Term::big(BigInt{negative, std::move(magnitude)});
}
// +-2^bits
inline Term pow2(unsigned bits, bool negative = false) {
  std::vector<std::uint8_t> m(bits / 8 + 1, 0);
  m.back() = static_cast<std::uint8_t>(1u << (bits % 8));
  return big(negative, std::move(m));
}

// Decodes from a buffer of exactly the given size so that AddressSanitizer reports any read
// past the end.
inline Result<Term> decode_exact(const Bytes& bytes, std::size_t len,
                                 std::size_t* consumed = nullptr) {
  auto copy = std::make_unique<std::uint8_t[]>(std::max<std::size_t>(len, 1));
  if (len > 0) std::memcpy(copy.get(), bytes.data(), len);
  return decode(std::span<const std::uint8_t>(copy.get(), len), consumed);
}

inline Term round_trip(const Term& t) {
  const Bytes bytes = encode(t);
  std::size_t consumed = 0;
  auto back = decode_exact(bytes, bytes.size(), &consumed);
  EXPECT_TRUE(back.ok()) << t << ": " << (back.ok() ? "" : back.error().message);
  if (!back.ok()) return Term::atom("decode_failed");
  EXPECT_EQ(consumed, bytes.size()) << t;
  return std::move(back).value();
}

inline void expect_round_trip(const Term& t) {
  const Term back = round_trip(t);
  EXPECT_EQ(back, t) << "sent " << t << " got " << back;
  EXPECT_EQ(back.to_string(), t.to_string());
}

// ---- byte vectors from a real Erlang node ----------------------------------------------------
// Produced with Erlang/OTP 25 (erl_interface 5.3) by
//   erl -noshell -eval 'io:format("~w~n", [term_to_binary(T, [{minor_version, 2}])])' -s init stop
// (minor_version 2 = UTF-8 atoms, the default from OTP 26 and what ei emits), except where
// a comment says otherwise. Pids/refs/ports are from an undistributed node, nonode@nohost.

struct ErlangSample {
  const char* what;
  Term term;
  Bytes bytes;
  bool encode_matches;  // our encoder emits exactly these bytes
};

inline Pid local_pid(std::uint32_t num, std::uint32_t serial) {
  return Pid{"nonode@nohost", num, serial, 0};
}

inline std::vector<ErlangSample> erlang_samples() {
  return {
      {"{ok,[1,2,3],<<\"bin\">>,#{a => 1,b => 2.5}}",
       T({A("ok"), L({I(1), I(2), I(3)}), Term::binary(std::string_view("bin")),
          Term::map({{A("a"), I(1)}, {A("b"), F(2.5)}})}),
       {131, 104, 4, 119, 2,   111, 107, 107, 0, 3,   1, 2,  3,  109, 0, 0, 0, 3, 98, 105, 110, 116,
        0,   0,   0, 2,   119, 1,   97,  97,  1, 119, 1, 98, 70, 64,  4, 0, 0, 0, 0,  0,   0},
       true},
      {"2^64", pow2(64), {131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, true},
      {"-2^64", pow2(64, true), {131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}, true},
      {"2^200",
       pow2(200),
       {131, 110, 26, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0,   0,   0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
       true},
      {"-(2^63)-1",
       big(true, {1, 0, 0, 0, 0, 0, 0, 128}),
       {131, 110, 8, 1, 1, 0, 0, 0, 0, 0, 0, 128},
       true},
      {"-(2^63)",
       I(std::numeric_limits<std::int64_t>::min()),
       {131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128},
       true},
      {"2^63-1",
       I(std::numeric_limits<std::int64_t>::max()),
       {131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 127},
       true},
      {"'héllo_世界'",
       A("h\xc3\xa9llo_\xe4\xb8\x96\xe7\x95\x8c"),
       {131, 119, 13, 104, 195, 169, 108, 108, 111, 95, 228, 184, 150, 231, 149, 140},
       true},
      {"\"hello\"", Term::string("hello"), {131, 107, 0, 5, 104, 101, 108, 108, 111}, true},
      {"[1,2|3]", L({I(1), I(2)}, I(3)), {131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3}, true},
      {"<<1,2:3>>", Term::bitstring({1, 0x40}, 3), {131, 77, 0, 0, 0, 2, 3, 1, 64}, true},
      {"[]", Term::nil(), {131, 106}, true},
      {"{}", T({}), {131, 104, 0}, true},
      {"#{}", Term::map({}), {131, 116, 0, 0, 0, 0}, true},
      {"<<>>", Term::binary(Bytes{}), {131, 109, 0, 0, 0, 0}, true},
      {"fun lists:map/2",
       Term::export_fun({"lists", "map", 2}),
       {131, 113, 119, 5, 108, 105, 115, 116, 115, 119, 3, 109, 97, 112, 97, 2},
       true},
      {"1.5", F(1.5), {131, 70, 63, 248, 0, 0, 0, 0, 0, 0}, true},
      {"1.0e100", F(1.0e100), {131, 70, 84, 178, 73, 173, 37, 148, 195, 125}, true},
      {"-0.0", F(-0.0), {131, 70, 128, 0, 0, 0, 0, 0, 0, 0}, true},
      {"0.1", F(0.1), {131, 70, 63, 185, 153, 153, 153, 153, 153, 154}, true},
      {"[233,19990]",
       L({I(233), I(19990)}),
       {131, 108, 0, 0, 0, 2, 97, 233, 98, 0, 0, 78, 22, 106},
       true},
      {"-1", I(-1), {131, 98, 255, 255, 255, 255}, true},
      {"255", I(255), {131, 97, 255}, true},
      {"256", I(256), {131, 98, 0, 0, 1, 0}, true},
      // ei 5.3 uses INTEGER_EXT only within 28 bits and SMALL_BIG_EXT beyond (see
      // TermCodec.IntegersBeyond28BitsUseSmallBig), so these two only decode identically.
      {"-2147483648", I(-2147483648LL), {131, 98, 128, 0, 0, 0}, false},
      {"2147483647", I(2147483647), {131, 98, 127, 255, 255, 255}, false},
      {"134217727", I(134217727), {131, 98, 7, 255, 255, 255}, true},
      {"-134217728", I(-134217728), {131, 98, 248, 0, 0, 0}, true},
      {"2147483648", I(2147483648LL), {131, 110, 4, 0, 0, 0, 0, 128}, true},
      {"<0.85.2>",
       Term::pid(local_pid(85, 2)),
       {131, 88,  119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111,
        115, 116, 0,   0,  0,   85,  0,   0,   0,   2,   0,  0,   0,   0},
       true},
      {"[{1,2},{3,4}]",
       L({T({I(1), I(2)}), T({I(3), I(4)})}),
       {131, 108, 0, 0, 0, 2, 104, 2, 97, 1, 97, 2, 104, 2, 97, 3, 97, 4, 106},
       true},
      // Integer keys sort before float keys in map key order: 1 before 1.0.
      {"#{1 => a,1.0 => b,<<\"k\">> => [x]}",
       Term::map(
           {{F(1.0), A("b")}, {Term::binary(std::string_view("k")), L({A("x")})}, {I(1), A("a")}}),
       {131, 116, 0, 0,  0,   3, 97, 1, 119, 1,   97,  70, 63, 240, 0, 0,   0, 0,   0,
        0,   119, 1, 98, 109, 0, 0,  0, 1,   107, 108, 0,  0,  0,   1, 119, 1, 120, 106},
       true},
      // make_ref() on nonode@nohost.
      {"#Ref<0.1206539645.215482369.118138>",
       Term::ref(Ref{"nonode@nohost", 0, {118138u, 215482369u, 1206539645u}}),
       {131, 90, 0, 3, 119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115,
        116, 0,  0, 0, 0,   0,  1,   205, 122, 12,  216, 0,   1,  71,  234, 85,  125},
       false},
      // hd(erlang:ports()): NEW_PORT_EXT.
      {"#Port<0.0>",
       Term::port(Port{"nonode@nohost", 0, 0}),
       {131, 89,  119, 13,  110, 111, 110, 111, 100, 101, 64, 110, 111,
        104, 111, 115, 116, 0,   0,   0,   0,   0,   0,   0,  0},
       true},
      // Default term_to_binary/1 on OTP 25: Latin-1 ATOM_EXT ('héllo' in Latin-1).
      {"{'héllo',1.5} (ATOM_EXT)",
       T({A("h\xc3\xa9llo"), F(1.5)}),
       {131, 104, 2, 100, 0, 5, 104, 233, 108, 108, 111, 70, 63, 248, 0, 0, 0, 0, 0, 0},
       false},
      // term_to_binary(3.14159, [{minor_version, 0}]): the old 31-byte text FLOAT_EXT.
      {"3.14159 (FLOAT_EXT)",
       F(3.14159),
       {131, 99, 51, 46, 49, 52, 49, 53,  56, 57, 57, 57, 57, 57, 57, 57, 57,
        57,  57, 56, 56, 50, 54, 50, 101, 43, 48, 48, 0,  0,  0,  0,  0},
       false},
  };
}

inline const ErlangSample& sample(std::string_view what_prefix) {
  static const std::vector<ErlangSample> all = erlang_samples();
  for (const auto& s : all) {
    if (std::string_view(s.what).starts_with(what_prefix)) return s;
  }
  throw std::logic_error("no such sample");
}

// term_to_binary(fun(X) -> X + Y end) with Y = 42, evaluated by erl -eval: an erl_eval
// closure whose environment holds the bindings and the abstract code.
inline const Bytes kErlEvalClosure = {
    131, 112, 0,   0,   0,   186, 1,   6,   83,  97,  170, 70,  21,  144, 209, 189, 241, 235, 98,
    209, 166, 235, 8,   0,   0,   0,   42,  0,   0,   0,   1,   119, 8,   101, 114, 108, 95,  101,
    118, 97,  108, 97,  42,  98,  0,   50,  155, 13,  88,  119, 13,  110, 111, 110, 111, 100, 101,
    64,  110, 111, 104, 111, 115, 116, 0,   0,   0,   9,   0,   0,   0,   0,   0,   0,   0,   0,
    104, 6,   97,  1,   108, 0,   0,   0,   1,   104, 2,   119, 1,   89,  97,  42,  106, 119, 4,
    110, 111, 110, 101, 119, 4,   110, 111, 110, 101, 116, 0,   0,   0,   0,   108, 0,   0,   0,
    1,   104, 5,   119, 6,   99,  108, 97,  117, 115, 101, 97,  1,   108, 0,   0,   0,   1,   104,
    3,   119, 3,   118, 97,  114, 97,  1,   119, 1,   88,  106, 106, 108, 0,   0,   0,   1,   104,
    5,   119, 2,   111, 112, 97,  1,   119, 1,   43,  104, 3,   119, 3,   118, 97,  114, 97,  1,
    119, 1,   88,  104, 3,   119, 3,   118, 97,  114, 97,  1,   119, 1,   89,  106, 106};

// term_to_binary(fun(X) -> X end) from a compiled module (convoy_termgen): no free variables.
inline const Bytes kCompiledClosure = {
    131, 112, 0,   0,   0,   80, 1,   156, 202, 23,  49,  95,  160, 213, 213, 248, 162,
    247, 208, 126, 3,   58,  63, 0,   0,   0,   1,   0,   0,   0,   0,   119, 14,  99,
    111, 110, 118, 111, 121, 95, 116, 101, 114, 109, 103, 101, 110, 97,  1,   98,  4,
    230, 80,  185, 88,  119, 13, 110, 111, 110, 111, 100, 101, 64,  110, 111, 104, 111,
    115, 116, 0,   0,   0,   9,  0,   0,   0,   0,   0,   0,   0,   0};

// ---- randomized terms ------------------------------------------------------------------------

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  Term term(int depth) {
    const int leaf_kinds = 14;
    const int pick = static_cast<int>(rng_() % (depth > 0 ? leaf_kinds + 4 : leaf_kinds));
    switch (pick) {
      case 0:
        return I(static_cast<std::int64_t>(rng_() % 256));
      case 1:
        return I(static_cast<std::int32_t>(rng_()));
      case 2:
        return I(static_cast<std::int64_t>(wide()));
      case 3: {
        std::vector<std::uint8_t> m(1 + rng_() % 40);
        for (auto& b : m) b = byte();
        return Term::big(BigInt{coin(), std::move(m)});
      }
      case 4: {
        for (;;) {
          double d = 0;
          const std::uint64_t bits = wide();
          std::memcpy(&d, &bits, sizeof d);
          if (std::isfinite(d)) return F(coin() ? d : static_cast<double>(rng_() % 1000) / 8);
        }
      }
      case 5:
        return A(atom_text());
      case 6:
        return Term::string(text(1 + rng_() % 30));
      case 7: {
        Bytes bytes(rng_() % 40);
        for (auto& b : bytes) b = byte();
        return coin() || bytes.empty()
                   ? Term::binary(std::move(bytes))
                   : Term::bitstring(std::move(bytes), static_cast<std::uint8_t>(1 + rng_() % 8));
      }
      case 8:
        return Term::pid(Pid{node(), u32(), u32(), u32()});
      case 9:
        return Term::port(Port{node(), coin() ? rng_() % 0x10000000 : wide(), u32()});
      case 10: {
        std::vector<std::uint32_t> ids(1 + rng_() % 5);
        for (auto& w : ids) w = u32();
        return Term::ref(Ref{node(), u32(), std::move(ids)});
      }
      case 11:
        return Term::export_fun(
            {atom_text(), atom_text(), static_cast<std::uint32_t>(rng_() % 256)});
      case 12:
        return coin() ? Term::nil() : *decode(coin() ? kCompiledClosure : kErlEvalClosure);
      case 13: {  // a byte list that is not a Kind::string
        std::vector<Term> e(1 + rng_() % 8);
        for (auto& x : e) x = I(static_cast<std::int64_t>(rng_() % 256));
        return L(std::move(e));
      }
      case 14: {
        std::vector<Term> e(rng_() % 6);
        for (auto& x : e) x = term(depth - 1);
        return L(std::move(e), rng_() % 4 == 0 ? term(depth - 1) : Term());
      }
      case 15: {
        std::vector<Term> e(rng_() % 6);
        for (auto& x : e) x = term(depth - 1);
        return T(std::move(e));
      }
      case 16: {
        std::vector<std::pair<Term, Term>> e(rng_() % 6);
        for (auto& [k, v] : e) {
          k = term(depth - 1);
          v = term(depth - 1);
        }
        return Term::map(std::move(e));
      }
      default: {  // keys that collide across representations
        return Term::map({{Term::string("k"), term(depth - 1)},
                          {L({I(107)}), term(depth - 1)},
                          {I(1), term(depth - 1)},
                          {F(1.0), term(depth - 1)}});
      }
    }
  }

 private:
  bool coin() { return rng_() % 2 == 0; }
  std::uint8_t byte() { return static_cast<std::uint8_t>(rng_()); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(rng_()); }
  std::uint64_t wide() { return (std::uint64_t{u32()} << 32) | u32(); }
  std::string text(std::size_t n) {
    std::string s(n, ' ');
    for (auto& c : s) c = static_cast<char>(coin() ? 'a' + rng_() % 26 : byte());
    return s;
  }
  std::string atom_text() {
    static const std::vector<std::string> pieces = {
        "a", "z", "_", "@", "Q", " ", "'", "\xc3\xa9", "\xe4\xb8\x96", "\xf0\x9f\x98\x80", "0"};
    std::string s;
    const std::size_t n = rng_() % 12;
    for (std::size_t i = 0; i < n; ++i) s += pieces[rng_() % pieces.size()];
    return s;
  }
  std::string node() { return "n" + atom_text() + "@h"; }

  std::mt19937 rng_;
};

}  // namespace convoy::test
