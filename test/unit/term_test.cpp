#include "convoy/term.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace convoy {
namespace {

using Bytes = std::vector<std::uint8_t>;

Term I(std::int64_t v) { return Term::integer(v); }
Term A(std::string_view s) { return Term::atom(s); }
Term F(double d) { return Term::float_(d); }
Term L(std::vector<Term> e, Term tail = Term()) {
  return Term::list(std::move(e), std::move(tail));
}
Term T(std::vector<Term> e) { return Term::tuple(std::move(e)); }

Term big(bool negative, std::vector<std::uint8_t> magnitude) {
  return Term::big(BigInt{negative, std::move(magnitude)});
}
// +-2^bits
Term pow2(unsigned bits, bool negative = false) {
  std::vector<std::uint8_t> m(bits / 8 + 1, 0);
  m.back() = static_cast<std::uint8_t>(1u << (bits % 8));
  return big(negative, std::move(m));
}

// Decodes from a buffer of exactly the given size so that AddressSanitizer reports any read
// past the end.
Result<Term> decode_exact(const Bytes& bytes, std::size_t len, std::size_t* consumed = nullptr) {
  auto copy = std::make_unique<std::uint8_t[]>(std::max<std::size_t>(len, 1));
  if (len > 0) std::memcpy(copy.get(), bytes.data(), len);
  return decode(std::span<const std::uint8_t>(copy.get(), len), consumed);
}

Term round_trip(const Term& t) {
  const Bytes bytes = encode(t);
  std::size_t consumed = 0;
  auto back = decode_exact(bytes, bytes.size(), &consumed);
  EXPECT_TRUE(back.ok()) << t << ": " << (back.ok() ? "" : back.error().message);
  if (!back.ok()) return Term::atom("decode_failed");
  EXPECT_EQ(consumed, bytes.size()) << t;
  return std::move(back).value();
}

void expect_round_trip(const Term& t) {
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

Pid local_pid(std::uint32_t num, std::uint32_t serial) {
  return Pid{"nonode@nohost", num, serial, 0};
}

std::vector<ErlangSample> erlang_samples() {
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

const ErlangSample& sample(std::string_view what_prefix) {
  static const std::vector<ErlangSample> all = erlang_samples();
  for (const auto& s : all) {
    if (std::string_view(s.what).starts_with(what_prefix)) return s;
  }
  throw std::logic_error("no such sample");
}

// term_to_binary(fun(X) -> X + Y end) with Y = 42, evaluated by erl -eval: an erl_eval
// closure whose environment holds the bindings and the abstract code.
const Bytes kErlEvalClosure = {
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
const Bytes kCompiledClosure = {
    131, 112, 0,   0,   0,   80, 1,   156, 202, 23,  49,  95,  160, 213, 213, 248, 162,
    247, 208, 126, 3,   58,  63, 0,   0,   0,   1,   0,   0,   0,   0,   119, 14,  99,
    111, 110, 118, 111, 121, 95, 116, 101, 114, 109, 103, 101, 110, 97,  1,   98,  4,
    230, 80,  185, 88,  119, 13, 110, 111, 110, 111, 100, 101, 64,  110, 111, 104, 111,
    115, 116, 0,   0,   0,   9,  0,   0,   0,   0,   0,   0,   0,   0};

TEST(TermErlang, DecodesWhatErlangSends) {
  for (const auto& s : erlang_samples()) {
    SCOPED_TRACE(s.what);
    std::size_t consumed = 0;
    auto t = decode_exact(s.bytes, s.bytes.size(), &consumed);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(*t, s.term) << *t;
    EXPECT_EQ(consumed, s.bytes.size());
  }
}

TEST(TermErlang, EncodesWhatErlangSends) {
  for (const auto& s : erlang_samples()) {
    SCOPED_TRACE(s.what);
    if (s.encode_matches) {
      EXPECT_EQ(encode(s.term), s.bytes);
    } else {
      expect_round_trip(s.term);
    }
  }
}

TEST(TermErlang, RefAndPortReencodeIdentically) {
  for (const char* what : {"#Ref<", "#Port<"}) {
    const ErlangSample& s = sample(what);
    auto t = decode(s.bytes);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(encode(*t), s.bytes) << s.what;
  }
  // Erlang prints that ref as #Ref<0.1206539645.215482369.118138>: most significant first.
  EXPECT_EQ(decode(sample("#Ref<").bytes)->to_string(),
            "#Ref<nonode@nohost.1206539645.215482369.118138>");
}

TEST(TermErlang, ClosuresRoundTripByteForByte) {
  for (const Bytes* bytes : {&kErlEvalClosure, &kCompiledClosure}) {
    auto t = decode_exact(*bytes, bytes->size());
    ASSERT_TRUE(t.ok()) << t.error().message;
    ASSERT_EQ(t->kind(), Term::Kind::closure);
    EXPECT_EQ(t->as_closure()->arity, 1u);
    EXPECT_EQ(encode(*t), *bytes);
    EXPECT_EQ(Bytes(t->as_closure()->encoded.begin(), t->as_closure()->encoded.end()),
              Bytes(bytes->begin() + 1, bytes->end()));
    expect_round_trip(*t);
  }
  auto eval_fun = decode(kErlEvalClosure);
  EXPECT_EQ(eval_fun->as_closure()->module, "erl_eval");
  EXPECT_EQ(eval_fun->to_string(), "#Fun<erl_eval.1>");
  auto compiled = decode(kCompiledClosure);
  EXPECT_EQ(compiled->as_closure()->module, "convoy_termgen");
  // Closures nest inside other terms like anything else.
  expect_round_trip(T({*eval_fun, L({*compiled, *eval_fun}), Term::map({{*compiled, I(1)}})}));
}

// ---- construction and normalisation ----------------------------------------------------------

TEST(TermConstruct, IntegersNormalise) {
  EXPECT_EQ(Term::integer(std::uint64_t{5}).kind(), Term::Kind::integer);
  const Term umax = Term::integer(std::numeric_limits<std::uint64_t>::max());
  ASSERT_EQ(umax.kind(), Term::Kind::big_integer);
  EXPECT_EQ(umax.as_big()->magnitude, Bytes(8, 0xFF));
  EXPECT_FALSE(umax.as_big()->negative);
  EXPECT_EQ(Term::integer(std::uint64_t{1} << 63), pow2(63));

  EXPECT_EQ(big(false, {1, 0, 0, 0}), I(1));
  EXPECT_EQ(big(true, {}), I(0));
  EXPECT_EQ(big(true, {0, 0}), I(0));
  EXPECT_EQ(big(true, {0, 0, 0, 0, 0, 0, 0, 0x80}), I(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(big(true, {1, 0, 0, 0, 0, 0, 0, 0x80}).kind(), Term::Kind::big_integer);
  EXPECT_EQ(big(false, {0, 0, 0, 0, 0, 0, 0, 0x80}).kind(), Term::Kind::big_integer);
  EXPECT_EQ(big(false, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0}),
            I(std::numeric_limits<std::int64_t>::max()));
  const Term b = big(true, {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0});
  EXPECT_EQ(b.as_big()->magnitude, (Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9}));

  // Plain int literals pick an overload without casts.
  EXPECT_EQ(Term::integer(7), I(7));
  EXPECT_EQ(Term::integer(7u), I(7));
  EXPECT_EQ(Term::integer(-7LL), I(-7));
  EXPECT_EQ(Term::integer(std::uint16_t{65535}), I(65535));
}

TEST(TermConstruct, ListsAndStringsNormalise) {
  EXPECT_TRUE(Term::string("").is_nil());
  EXPECT_TRUE(L({}).is_nil());
  EXPECT_EQ(L({}, A("x")), A("x"));
  EXPECT_EQ(L({I(1)}, L({I(2)}, A("x"))), L({I(1), I(2)}, A("x")));
  EXPECT_EQ(L({I(1)}, Term::string("ab")), L({I(1), I(97), I(98)}));
  EXPECT_TRUE(L({I(1)}, Term::string("ab")).list_tail().is_nil());
  EXPECT_EQ(Term::string("ab"), L({I(97), I(98)}));
  EXPECT_EQ(L({I(97), I(98)}), Term::string("ab"));
  EXPECT_NE(Term::string("ab"), L({I(97), I(98)}, A("t")));
  EXPECT_NE(Term::string("ab"), L({I(97), F(98.0)}));
  EXPECT_TRUE(Term::string("x").is_list());
  EXPECT_TRUE(Term::nil().is_list());
  EXPECT_EQ(Term::string("ab").list_elements(), (std::vector<Term>{I(97), I(98)}));
  EXPECT_TRUE(Term::string("ab").list_view().empty());
  EXPECT_EQ(L({I(1), I(2)}, I(3)).list_view().size(), 2u);
  EXPECT_EQ(L({I(1), I(2)}, I(3)).list_tail(), I(3));
  EXPECT_TRUE(I(3).list_tail().is_nil());
  EXPECT_TRUE(I(3).list_elements().empty());
}

TEST(TermConstruct, MapsSortAndLaterDuplicatesWin) {
  const Term m = Term::map(
      {{A("b"), I(1)}, {A("a"), I(2)}, {A("b"), I(3)}, {I(1), A("int")}, {F(1.0), A("float")}});
  const auto e = m.map_entries();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].first, I(1));
  EXPECT_EQ(e[1].first, F(1.0));
  EXPECT_EQ(e[2].first, A("a"));
  EXPECT_EQ(e[3], std::make_pair(A("b"), I(3)));
  ASSERT_NE(m.map_get(A("b")), nullptr);
  EXPECT_EQ(*m.map_get(A("b")), I(3));
  EXPECT_EQ(*m.map_get(I(1)), A("int"));
  EXPECT_EQ(*m.map_get(F(1.0)), A("float"));
  EXPECT_EQ(m.map_get(A("c")), nullptr);
  EXPECT_EQ(I(1).map_get(I(1)), nullptr);
  // String and list keys are the same key.
  const Term m2 = Term::map({{Term::string("k"), I(1)}, {L({I(107)}), I(2)}});
  ASSERT_EQ(m2.map_entries().size(), 1u);
  EXPECT_EQ(*m2.map_get(Term::string("k")), I(2));
}

TEST(TermConstruct, Accessors) {
  const Term t = T({A("ok"), I(1)});
  EXPECT_TRUE(t.is_tuple());
  EXPECT_TRUE(t.is_tuple(2));
  EXPECT_FALSE(t.is_tuple(3));
  EXPECT_TRUE(t.element(0)->is_atom("ok"));
  EXPECT_FALSE(t.element(0)->is_atom("ko"));
  EXPECT_EQ(t.element(2), nullptr);
  EXPECT_EQ(I(1).element(0), nullptr);
  EXPECT_TRUE(I(1).elements().empty());
  EXPECT_EQ(*I(5).as_integer(), 5);
  EXPECT_EQ(I(5).as_float(), nullptr);
  EXPECT_EQ(I(5).as_atom(), nullptr);
  EXPECT_EQ(A("a").as_integer(), nullptr);
  EXPECT_EQ(*F(2.5).as_float(), 2.5);
  EXPECT_EQ(*Term::string("xy").as_string(), "xy");
  EXPECT_EQ(L({I(1)}).as_string(), nullptr);
  EXPECT_EQ(Term::binary(std::string_view("ab")).as_binary()->bytes, (Bytes{'a', 'b'}));
  EXPECT_TRUE(Term::pid(local_pid(1, 2)).is_pid());
  EXPECT_TRUE(Term::ref(Ref{"a@b", 1, {1}}).is_ref());
  EXPECT_EQ(Term().kind(), Term::Kind::nil);
  EXPECT_EQ(Term::bitstring({0xFF}, 3).as_binary()->bytes, Bytes{0xE0});  // padding cleared
  EXPECT_EQ(Term::bitstring({0xFF}, 8), Term::binary(Bytes{0xFF}));
  EXPECT_EQ(Term::bitstring({}, 3), Term::binary(Bytes{}));
}

TEST(TermConstruct, RejectsWhatErlangCannotRepresent) {
  EXPECT_NO_THROW(A(std::string(255, 'a')));
  EXPECT_THROW(A(std::string(256, 'a')), std::invalid_argument);
  std::string wide;
  for (int i = 0; i < 255; ++i) wide += "\xe4\xb8\x96";  // 255 code points, 765 bytes
  EXPECT_NO_THROW(A(wide));
  EXPECT_THROW(A(wide + "x"), std::invalid_argument);
  EXPECT_THROW(A("\xff"), std::invalid_argument);
  EXPECT_THROW(A("\xc0\x80"), std::invalid_argument);      // overlong NUL
  EXPECT_THROW(A("\xed\xa0\x80"), std::invalid_argument);  // surrogate
  EXPECT_THROW(A("\xe4\xb8"), std::invalid_argument);      // truncated
  EXPECT_NO_THROW(A(std::string_view("a\0b", 3)));         // atoms may hold NUL
  EXPECT_THROW(F(std::nan("")), std::invalid_argument);
  EXPECT_THROW(F(std::numeric_limits<double>::infinity()), std::invalid_argument);
  EXPECT_THROW(Term::ref(Ref{"a@b", 0, {}}), std::invalid_argument);
  EXPECT_THROW(Term::ref(Ref{"a@b", 0, {1, 2, 3, 4, 5, 6}}), std::invalid_argument);
  EXPECT_THROW(Term::pid(Pid{std::string("a\0b", 3), 1, 1, 1}), std::invalid_argument);
  EXPECT_THROW(Term::port(Port{std::string(300, 'n'), 1, 1}), std::invalid_argument);
  EXPECT_THROW(Term::export_fun({"m", "f", 256}), std::invalid_argument);
  EXPECT_THROW(Term::export_fun({"m", std::string("f\0", 2), 1}), std::invalid_argument);
  EXPECT_THROW(Term::bitstring({1}, 0), std::invalid_argument);
  EXPECT_THROW(Term::bitstring({1}, 9), std::invalid_argument);
  EXPECT_THROW(Term::closure(Closure{"m", 1, {}}), std::invalid_argument);
  EXPECT_THROW(Term::closure(Closure{"m", 1, {112, 0, 0, 0, 9, 1}}), std::invalid_argument);
  EXPECT_THROW(Term::closure(Closure{"m", 1, {113, 0, 0, 0, 1}}), std::invalid_argument);
}

// ---- equality and ordering ----------------------------------------------------------------------

TEST(TermOrder, NumbersCompareByValueButAreNotExactlyEqual) {
  EXPECT_NE(I(1), F(1.0));
  EXPECT_EQ(I(1) <=> F(1.0), std::strong_ordering::equal);
  EXPECT_EQ(F(0.0), F(-0.0));  // as =:= in OTP 25
  EXPECT_LT(I(1), F(1.5));
  EXPECT_LT(F(1.5), I(2));
  EXPECT_LT(F(-1.5), I(-1));
  EXPECT_LT(I(-2), F(-1.5));
  EXPECT_LT(I(std::numeric_limits<std::int64_t>::max()), F(9223372036854775808.0));
  EXPECT_GT(I(std::numeric_limits<std::int64_t>::min()), F(-9223372036854777856.0));
  EXPECT_EQ(I(std::numeric_limits<std::int64_t>::min()) <=> F(-9223372036854775808.0),
            std::strong_ordering::equal);
  EXPECT_EQ(pow2(64) <=> F(18446744073709551616.0), std::strong_ordering::equal);
  EXPECT_EQ(pow2(64, true) <=> F(-18446744073709551616.0), std::strong_ordering::equal);
  EXPECT_LT(F(1e19), pow2(64));
  EXPECT_LT(pow2(64), F(1e20));
  EXPECT_LT(pow2(200), F(1e100));
  EXPECT_GT(pow2(200, true), F(-1e100));
  EXPECT_LT(pow2(64, true), F(-1e19));
  EXPECT_LT(pow2(63), F(1e300));
  EXPECT_GT(pow2(63, false), F(5.0));
  EXPECT_LT(pow2(64, true), I(std::numeric_limits<std::int64_t>::min()));
  EXPECT_LT(I(std::numeric_limits<std::int64_t>::max()), pow2(63));
  EXPECT_LT(pow2(64, true), pow2(63, true));
  EXPECT_LT(pow2(63), pow2(64));
  EXPECT_LT(pow2(64), pow2(200));
  EXPECT_LT(big(false, {0, 0, 0, 0, 0, 0, 0, 0, 1}), big(false, {1, 0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_LT(big(true, {1, 0, 0, 0, 0, 0, 0, 0, 1}), big(true, {0, 0, 0, 0, 0, 0, 0, 0, 1}));
}

TEST(TermOrder, KindsFollowErlangTermOrder) {
  // number < atom < reference < fun < port < pid < tuple < map < nil < list < bitstring
  const std::vector<Term> ascending = {
      pow2(100, true),
      I(-5),
      F(0.5),
      pow2(100),
      A(""),
      A("a"),
      A("b"),
      Term::ref(Ref{"a@h", 0, {1, 2, 3}}),
      Term::ref(Ref{"b@h", 0, {1}}),
      *decode(kCompiledClosure),
      Term::export_fun({"lists", "map", 2}),
      Term::port(Port{"a@h", 5, 1}),
      Term::pid(Pid{"z@h", 9, 0, 1}),
      Term::pid(Pid{"a@h", 1, 1, 1}),
      T({}),
      T({A("z")}),
      T({A("a"), A("a")}),
      Term::map({}),
      Term::map({{A("z"), I(1)}}),
      Term::map({{I(1), I(1)}, {I(2), I(2)}}),
      Term::nil(),
      L({I(1)}, I(2)),
      L({I(1), I(2)}),
      Term::string("ab"),
      Term::string("abc"),
      L({I(97), I(99)}),
      Term::string("b"),
      L({A("a")}),
      Term::binary(Bytes{}),
      Term::bitstring({0}, 1),
      Term::binary(Bytes{1}),
      Term::bitstring({0x80}, 1),
      Term::binary(Bytes{128}),
      Term::binary(Bytes{255, 0}),
  };
  for (std::size_t i = 0; i + 1 < ascending.size(); ++i) {
    EXPECT_LT(ascending[i], ascending[i + 1]) << ascending[i] << " vs " << ascending[i + 1];
    EXPECT_GT(ascending[i + 1], ascending[i]);
    EXPECT_NE(ascending[i], ascending[i + 1]);
  }
  auto shuffled = ascending;
  std::mt19937 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, ascending);
}

TEST(TermOrder, MatchesErlangForCornerCases) {
  // Each line was checked on OTP 25.
  // #{2 => a} < #{1.0 => a}: keys compare in map-key order, where integers precede floats.
  EXPECT_LT(Term::map({{I(2), A("a")}}), Term::map({{F(1.0), A("a")}}));
  // #{1 => a} < #{1.0 => a} and they are not == either.
  EXPECT_LT(Term::map({{I(1), A("a")}}), Term::map({{F(1.0), A("a")}}));
  // Values compare arithmetically: #{a => 1} == #{a => 1.0}.
  EXPECT_EQ(Term::map({{A("a"), I(1)}}) <=> Term::map({{A("a"), F(1.0)}}),
            std::strong_ordering::equal);
  // list_to_pid("<0.100.0>") < list_to_pid("<0.5.1>"): serial before number.
  EXPECT_LT(Term::pid(local_pid(100, 0)), Term::pid(local_pid(5, 1)));
  // <<1:1>> > <<1>>; <<128>> > <<1:1>>; <<>> < <<0:1>>
  EXPECT_GT(Term::bitstring({0x80}, 1), Term::binary(Bytes{1}));
  EXPECT_GT(Term::binary(Bytes{128}), Term::bitstring({0x80}, 1));
  EXPECT_LT(Term::binary(Bytes{}), Term::bitstring({0}, 1));
  // [1|2] < [1,2]: the tail 2 (a number) is less than the list [2].
  EXPECT_LT(L({I(1)}, I(2)), L({I(1), I(2)}));
  // [1|<<>>] > [1,2]: bitstrings sort after lists.
  EXPECT_GT(L({I(1)}, Term::binary(Bytes{})), L({I(1), I(2)}));
  EXPECT_LT(L({I(1)}, Term::nil()), L({I(1), I(2)}));
  // refs compare their most significant word first
  EXPECT_LT(Term::ref(Ref{"n@h", 1, {9, 1}}), Term::ref(Ref{"n@h", 1, {1, 2}}));
}

TEST(TermOrder, EqualityIsExact) {
  EXPECT_EQ(T({I(1), Term::string("a")}), T({I(1), L({I(97)})}));
  EXPECT_NE(T({I(1)}), T({F(1.0)}));
  EXPECT_NE(Term::binary(Bytes{1}), Term::bitstring({1}, 7));
  EXPECT_NE(Term::ref(Ref{"n@h", 1, {1}}), Term::ref(Ref{"n@h", 1, {1, 0}}));
  EXPECT_NE(Term::ref(Ref{"n@h", 1, {1}}), Term::ref(Ref{"n@h", 2, {1}}));
  EXPECT_NE(Term::pid(Pid{"n@h", 1, 1, 1}), Term::pid(Pid{"n@h", 1, 1, 2}));
  EXPECT_NE(Term::port(Port{"n@h", 1, 1}), Term::port(Port{"n@h", 2, 1}));
  EXPECT_NE(A("a"), Term::string("a"));
  EXPECT_NE(Term::nil(), T({}));
}

// ---- printing
// -------------------------------------------------------------------------------------

TEST(TermPrint, ErlangSyntax) {
  EXPECT_EQ(
      T({A("ok"), L({I(1), I(2)}, A("x")), Term::binary(Bytes{1, 2}), Term::map({{A("a"), I(1)}})})
          .to_string(),
      "{ok,[1,2|x],<<1,2>>,#{a => 1}}");
  EXPECT_EQ(A("hello world").to_string(), "'hello world'");
  EXPECT_EQ(A("Abc").to_string(), "'Abc'");
  EXPECT_EQ(A("").to_string(), "''");
  EXPECT_EQ(A("end").to_string(), "'end'");
  EXPECT_EQ(A("ok_1@Host").to_string(), "ok_1@Host");
  EXPECT_EQ(A("it's").to_string(), "'it\\'s'");
  EXPECT_EQ(A("a\\b\n").to_string(), "'a\\\\b\\n'");
  EXPECT_EQ(A(std::string_view("\x01", 1)).to_string(), "'\\001'");
  EXPECT_EQ(A("h\xc3\xa9llo_\xe4\xb8\x96\xe7\x95\x8c").to_string(),
            "'h\xc3\xa9llo_\xe4\xb8\x96\xe7\x95\x8c'");
  EXPECT_EQ(Term::string("abc").to_string(), "\"abc\"");
  EXPECT_EQ(Term::string("say \"hi\"\n").to_string(), "\"say \\\"hi\\\"\\n\"");
  EXPECT_EQ(Term::string(std::string_view("\x01\x02", 2)).to_string(), "[1,2]");
  EXPECT_EQ(Term::string("\xe9t\xe9").to_string(), "[233,116,233]");
  EXPECT_EQ(L({I(104), I(105)}).to_string(), "\"hi\"");
  EXPECT_EQ(L({I(104), I(1000)}).to_string(), "[104,1000]");
  EXPECT_EQ(L({I(104)}, I(105)).to_string(), "[104|105]");
  EXPECT_EQ(Term::nil().to_string(), "[]");
  EXPECT_EQ(T({}).to_string(), "{}");
  EXPECT_EQ(Term::map({}).to_string(), "#{}");
  EXPECT_EQ(Term::map({{A("b"), F(2.5)}, {A("a"), I(1)}}).to_string(), "#{a => 1,b => 2.5}");
  EXPECT_EQ(Term::binary(std::string_view("text")).to_string(), "<<\"text\">>");
  EXPECT_EQ(Term::binary(Bytes{1, 2, 3}).to_string(), "<<1,2,3>>");
  EXPECT_EQ(Term::binary(Bytes{}).to_string(), "<<>>");
  EXPECT_EQ(Term::bitstring({1, 0x40}, 3).to_string(), "<<1,2:3>>");
  EXPECT_EQ(Term::bitstring({0x80}, 1).to_string(), "<<1:1>>");
  EXPECT_EQ(F(1.0).to_string(), "1.0");
  EXPECT_EQ(F(0.1).to_string(), "0.1");
  EXPECT_EQ(F(-0.0).to_string(), "-0.0");
  EXPECT_EQ(F(1.5).to_string(), "1.5");
  EXPECT_EQ(F(1e100).to_string(), "1.0e+100");
  EXPECT_EQ(F(123456789.0).to_string(), "123456789.0");
  EXPECT_EQ(I(-42).to_string(), "-42");
  EXPECT_EQ(pow2(64).to_string(), "18446744073709551616");
  EXPECT_EQ(pow2(64, true).to_string(), "-18446744073709551616");
  EXPECT_EQ(pow2(200).to_string(), "1606938044258990275541962092341162602522202993782792835301376");
  EXPECT_EQ(big(true, {1, 0, 0, 0, 0, 0, 0, 128}).to_string(), "-9223372036854775809");
  EXPECT_EQ(big(false, {0, 0xCA, 0x9A, 0x3B, 0, 0, 0, 0, 1}).to_string(), "18446744074709551616");
  EXPECT_EQ(Term::pid(local_pid(85, 2)).to_string(), "<nonode@nohost.85.2>");
  EXPECT_EQ(Term::pid(Pid{"a@host.example", 85, 0, 1}).to_string(), "<'a@host.example'.85.0>");
  EXPECT_EQ(Term::port(Port{"a@h", 7, 1}).to_string(), "#Port<a@h.7>");
  EXPECT_EQ(Term::ref(Ref{"a@h", 1, {1, 2, 3}}).to_string(), "#Ref<a@h.3.2.1>");
  EXPECT_EQ(Term::export_fun({"lists", "map", 2}).to_string(), "fun lists:map/2");
  EXPECT_EQ(Term::export_fun({"Mod", "do it", 0}).to_string(), "fun 'Mod':'do it'/0");
  std::ostringstream os;
  os << T({A("a"), I(1)});
  EXPECT_EQ(os.str(), "{a,1}");
}

TEST(TermPrint, FloatsRoundTripThroughText) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 2000; ++i) {
    double d = 0;
    const std::uint64_t bits = rng();
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    const std::string s = F(d).to_string();
    EXPECT_NE(s.find('.'), std::string::npos) << s;
    EXPECT_EQ(std::strtod(s.c_str(), nullptr), d) << s;
  }
}

// ---- round trips
// ----------------------------------------------------------------------------------

TEST(TermCodec, RoundTripsEveryKind) {
  const std::vector<Term> terms = {
      I(0),
      I(255),
      I(256),
      I(-1),
      I(std::numeric_limits<std::int32_t>::min()),
      I(std::numeric_limits<std::int64_t>::min()),
      I(std::numeric_limits<std::int64_t>::max()),
      pow2(64),
      pow2(64, true),
      pow2(200),
      pow2(200, true),
      big(true, {1, 0, 0, 0, 0, 0, 0, 128}),
      pow2(2100),  // more than 255 digit bytes: LARGE_BIG_EXT
      F(0.0),
      F(-0.0),
      F(1.5),
      F(-1e300),
      F(5e-324),
      F(std::numeric_limits<double>::max()),
      A(""),
      A("ok"),
      A("hello world"),
      A("h\xc3\xa9llo_\xe4\xb8\x96\xe7\x95\x8c"),
      A(std::string(255, 'z')),
      A(std::string_view("nul\0inside", 10)),
      Term::string("hello"),
      Term::string(std::string_view("\0\xff", 2)),
      Term::string(std::string(70000, 'x')),  // too long for STRING_EXT: goes out as a list
      L({I(1), I(2)}, I(3)),
      L({I(1)}, Term::binary(Bytes{1})),
      L({A("a"), T({})}),
      L(std::vector<Term>(70000, I(7))),
      L({I(256), I(-1)}),
      T({}),
      T(std::vector<Term>(300, A("x"))),  // LARGE_TUPLE_EXT
      Term::map({}),
      Term::map({{A("a"), Term::map({{A("b"), Term::map({{A("c"), L({I(1)})}})}})},
                 {T({I(1), I(2)}), Term::map({{Term::string("k"), F(2.0)}})}}),
      Term::binary(Bytes{}),
      Term::binary(Bytes{0, 1, 2, 255}),
      Term::bitstring({0xFF, 0x80}, 1),
      Term::bitstring({0xAB}, 7),
      Term::pid(Pid{"a@h", 1, 2, 3}),
      Term::pid(Pid{"h\xc3\xa9@h", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}),
      Term::port(Port{"a@h", 5, 1}),
      Term::port(Port{"a@h", 0x10000000, 0xFFFFFFFF}),
      Term::port(Port{"a@h", std::numeric_limits<std::uint64_t>::max(), 2}),
      Term::ref(Ref{"a@h", 1, {1}}),
      Term::ref(Ref{"a@h", 0xFFFFFFFF, {1, 2, 3, 4, 5}}),
      Term::export_fun({"lists", "map", 2}),
      Term::export_fun({"m\xc3\xa9", "f", 255}),
      Term::nil(),
  };
  for (const Term& t : terms) expect_round_trip(t);
  expect_round_trip(T(terms));
  expect_round_trip(L(terms));
}

TEST(TermCodec, OneMegabyteBinary) {
  Bytes payload(1 << 20);
  std::mt19937 rng(1);
  for (auto& b : payload) b = static_cast<std::uint8_t>(rng());
  const Term t = Term::binary(payload);
  const Bytes bytes = encode(t);
  EXPECT_EQ(bytes.size(), payload.size() + 6);
  const Term back = round_trip(t);
  ASSERT_NE(back.as_binary(), nullptr);
  EXPECT_EQ(back.as_binary()->bytes, payload);
  expect_round_trip(T({A("data"), t, Term::bitstring(payload, 5)}));
}

TEST(TermCodec, LongStringsGoOutAsLists) {
  const Term s = Term::string(std::string(70000, 'q'));
  const Bytes bytes = encode(s);
  EXPECT_EQ(bytes[1], 108);  // LIST_EXT
  const Term back = round_trip(s);
  EXPECT_EQ(back.kind(), Term::Kind::list);
  EXPECT_EQ(back, s);
  const Term shorter = Term::string(std::string(65535, 'q'));
  EXPECT_EQ(encode(shorter)[1], 107);  // STRING_EXT
  EXPECT_EQ(round_trip(shorter).kind(), Term::Kind::string);
  // A byte list of the same shape is sent as STRING_EXT, like term_to_binary does.
  EXPECT_EQ(encode(L({I(1), I(2), I(3)})), (Bytes{131, 107, 0, 3, 1, 2, 3}));
}

// erl_interface 5.3 writes INTEGER_EXT only for 28-bit values (its ERL_MIN/ERL_MAX) and a
// SMALL_BIG_EXT above that, where term_to_binary would still use INTEGER_EXT. Erlang
// decodes both to the same integer (checked on OTP 25: binary_to_term(<<131,110,4,0,255,
// 255,255,127>>) =:= 2147483647).
TEST(TermCodec, IntegersBeyond28BitsUseSmallBig) {
  EXPECT_EQ(encode(I(2147483647)), (Bytes{131, 110, 4, 0, 255, 255, 255, 127}));
  EXPECT_EQ(encode(I(-2147483648LL)), (Bytes{131, 110, 4, 1, 0, 0, 0, 128}));
  EXPECT_EQ(encode(I(134217728)), (Bytes{131, 110, 4, 0, 0, 0, 0, 8}));
  EXPECT_EQ(encode(I(134217727)), (Bytes{131, 98, 7, 255, 255, 255}));
}

TEST(TermCodec, EncodeAppendBuildsSequences) {
  Bytes frame = {112};  // e.g. a pass-through byte ahead of the terms
  const Term control = T({I(2), A(""), Term::pid(local_pid(1, 0))});
  const Term message = T({A("hello"), Term::string("world")});
  encode_append(control, frame);
  encode_append(message, frame);
  std::size_t used = 0;
  auto first = decode(std::span<const std::uint8_t>(frame).subspan(1), &used);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, control);
  std::size_t used2 = 0;
  auto second = decode(std::span<const std::uint8_t>(frame).subspan(1 + used), &used2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, message);
  EXPECT_EQ(1 + used + used2, frame.size());
}

TEST(TermCodec, DecodeReportsConsumedAndIgnoresTrailingBytes) {
  Bytes bytes = encode(A("x"));
  const std::size_t n = bytes.size();
  bytes.push_back(99);
  std::size_t consumed = 0;
  auto t = decode(bytes, &consumed);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(consumed, n);
}

// Old and alternative encodings Erlang may still send.
TEST(TermCodec, DecodesLegacyForms) {
  const Bytes node = {115, 3, 'a', '@', 'h'};  // SMALL_ATOM_EXT (Latin-1)
  auto with_node = [&](std::uint8_t tag, Bytes rest) {
    Bytes b = {131, tag};
    b.insert(b.end(), node.begin(), node.end());
    b.insert(b.end(), rest.begin(), rest.end());
    return b;
  };
  // PID_EXT: 2-bit creation
  auto pid = decode(with_node(103, {0, 0, 0, 5, 0, 0, 0, 1, 2}));
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(*pid, Term::pid(Pid{"a@h", 5, 1, 2}));
  // PORT_EXT, NEW_PORT_EXT, V4_PORT_EXT
  EXPECT_EQ(*decode(with_node(102, {0, 0, 0, 9, 1})), Term::port(Port{"a@h", 9, 1}));
  EXPECT_EQ(*decode(with_node(89, {0, 0, 0, 9, 0, 0, 1, 0})), Term::port(Port{"a@h", 9, 256}));
  EXPECT_EQ(*decode(with_node(120, {1, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 3})),
            Term::port(Port{"a@h", (std::uint64_t{1} << 56) + 9, 3}));
  // REFERENCE_EXT
  EXPECT_EQ(*decode(with_node(101, {0, 0, 0, 7, 1})), Term::ref(Ref{"a@h", 1, {7}}));
  // NEW_REFERENCE_EXT: len, node, 1-byte creation, ids
  Bytes new_ref = {131, 114, 0, 2};
  new_ref.insert(new_ref.end(), node.begin(), node.end());
  new_ref.insert(new_ref.end(), {3, 0, 0, 0, 1, 0, 0, 0, 2});
  EXPECT_EQ(*decode(new_ref), Term::ref(Ref{"a@h", 3, {1, 2}}));
  // ATOM_UTF8_EXT with a 2-byte length, ATOM_EXT
  EXPECT_EQ(*decode(Bytes{131, 118, 0, 2, 'o', 'k'}), A("ok"));
  EXPECT_EQ(*decode(Bytes{131, 100, 0, 2, 'o', 'k'}), A("ok"));
  EXPECT_EQ(*decode(Bytes{131, 115, 1, 0xE9}), A("\xc3\xa9"));
  // Non-canonical bignums collapse.
  EXPECT_EQ(*decode(Bytes{131, 110, 0, 0}), I(0));
  EXPECT_EQ(*decode(Bytes{131, 110, 2, 1, 5, 0}), I(-5));
  EXPECT_EQ(*decode(Bytes{131, 111, 0, 0, 0, 1, 0, 7}), I(7));
  // LIST_EXT chains and empty LIST_EXT.
  EXPECT_EQ(*decode(Bytes{131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 97, 3}),
            L({I(1), I(2)}, I(3)));
  EXPECT_EQ(*decode(Bytes{131, 108, 0, 0, 0, 1, 97, 1, 107, 0, 1, 'a'}), L({I(1), I(97)}));
  EXPECT_EQ(*decode(Bytes{131, 108, 0, 0, 0, 0, 106}), Term::nil());
  // BIT_BINARY_EXT with 8 bits is a binary.
  EXPECT_EQ(*decode(Bytes{131, 77, 0, 0, 0, 1, 8, 5}), Term::binary(Bytes{5}));
  EXPECT_EQ(*decode(Bytes{131, 77, 0, 0, 0, 0, 0}), Term::binary(Bytes{}));
  // Map with a duplicate key: the later one wins, as for Term::map.
  EXPECT_EQ(*decode(Bytes{131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97, 1, 97, 3}),
            Term::map({{I(1), I(3)}}));
}

// ---- hostile input
// ---------------------------------------------------------------------------------

void expect_decode_error(const Bytes& bytes, const std::string& needle = "") {
  auto t = decode_exact(bytes, bytes.size());
  ASSERT_FALSE(t.ok()) << "accepted " << *t;
  EXPECT_EQ(t.error().code, make_error_code(Errc::decode_error));
  if (!needle.empty()) {
    EXPECT_NE(t.error().message.find(needle), std::string::npos) << t.error().message;
  }
}

TEST(TermDecode, RejectsMalformedInput) {
  expect_decode_error({}, "no bytes");
  expect_decode_error({130, 106}, "version");
  expect_decode_error({131}, "truncated");
  expect_decode_error({131, 200}, "unknown tag");
  expect_decode_error({131, 80, 0, 0, 0, 1, 120, 156}, "compressed");
  expect_decode_error({131, 117, 0, 0, 0, 0}, "FUN_EXT");
  // counts and lengths larger than the input
  expect_decode_error({131, 108, 0xFF, 0xFF, 0xFF, 0xFF, 106}, "count");
  expect_decode_error({131, 105, 0x7F, 0xFF, 0xFF, 0xFF}, "count");
  expect_decode_error({131, 116, 0x80, 0, 0, 0, 97, 1}, "count");
  expect_decode_error({131, 109, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3}, "truncated");
  expect_decode_error({131, 107, 0, 10, 'a'}, "truncated");
  expect_decode_error({131, 111, 0xFF, 0xFF, 0xFF, 0xFF, 0, 1}, "truncated");
  expect_decode_error({131, 110, 1, 2, 1}, "sign");
  expect_decode_error({131, 100, 1, 0, 'a'}, "atom");
  expect_decode_error({131, 118, 0x10, 0, 'a'}, "atom");
  // atoms Erlang would refuse
  expect_decode_error({131, 119, 2, 0xC3, 0x28}, "UTF-8");
  // pid with a NUL in its node name; ref word counts
  expect_decode_error({131, 88, 119, 3, 'a', 0, 'h', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, "NUL");
  expect_decode_error({131, 90, 0, 6, 119, 1, 'a', 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
                       1,   0,  0, 0, 1,   0, 0,   0, 1, 0, 0, 0, 1, 0, 0, 0, 1},
                      "id words");
  expect_decode_error({131, 90, 0, 0, 119, 1, 'a', 0, 0, 0, 1}, "id words");
  // floats: no NUL in the FLOAT_EXT text; inf/NaN
  Bytes old_float = {131, 99};
  old_float.insert(old_float.end(), 31, '1');
  old_float.push_back('1');
  expect_decode_error(old_float, "FLOAT_EXT");
  Bytes bad_text = {131, 99, 'x'};
  bad_text.insert(bad_text.end(), 30, 0);
  expect_decode_error(bad_text);
  Bytes inf_text = {131, 99, 'i', 'n', 'f'};
  inf_text.insert(inf_text.end(), 28, 0);
  expect_decode_error(inf_text);
  expect_decode_error({131, 70, 0x7F, 0xF0, 0, 0, 0, 0, 0, 0}, "non-finite");
  expect_decode_error({131, 70, 0xFF, 0xF8, 0, 0, 0, 0, 0, 0, 1}, "non-finite");
  // bitstrings: trailing bit count must match the length
  expect_decode_error({131, 77, 0, 0, 0, 1, 0, 5}, "bit");
  expect_decode_error({131, 77, 0, 0, 0, 1, 9, 5}, "bit");
  expect_decode_error({131, 77, 0, 0, 0, 0, 3}, "bit");
  // export fun arity must be a small integer
  expect_decode_error({131, 113, 119, 1, 'm', 119, 1, 'f', 98, 0, 0, 0, 1}, "arity");
}

TEST(TermDecode, RejectsInconsistentClosures) {
  // Size field claims one byte fewer / more than the closure has.
  Bytes shorter = kCompiledClosure;
  shorter[5] = static_cast<std::uint8_t>(shorter[5] - 1);
  expect_decode_error(shorter);
  Bytes longer = kCompiledClosure;
  longer[5] = static_cast<std::uint8_t>(longer[5] + 1);
  expect_decode_error(longer);
  longer.push_back(106);  // now the size fits the buffer, but the free variables do not fill it
  expect_decode_error(longer, "closure");
  // num_free says 2 but only one free variable is present
  Bytes eval = kErlEvalClosure;
  ASSERT_EQ(eval[30], 1);
  eval[30] = 2;
  expect_decode_error(eval);
  // module that is not an atom
  Bytes not_atom = kCompiledClosure;
  not_atom[31] = 97;
  expect_decode_error(not_atom);
  // absurd size field
  Bytes huge = kCompiledClosure;
  huge[2] = 0x7F;
  expect_decode_error(huge, "closure size");
}

// Every strict prefix of a valid encoding is truncated and must fail cleanly.
TEST(TermDecode, EveryPrefixFails) {
  std::vector<Bytes> samples;
  for (const auto& s : erlang_samples()) samples.push_back(s.bytes);
  samples.push_back(kErlEvalClosure);
  samples.push_back(kCompiledClosure);
  samples.push_back(encode(T({pow2(2100), Term::ref(Ref{"a@h", 1, {1, 2, 3}}),
                              Term::port(Port{"a@h", std::uint64_t{1} << 40, 1}),
                              Term::map({{A("k"), L({I(1), F(2.0)}, Term::bitstring({1, 2}, 3))}}),
                              Term::export_fun({"m", "f", 3}), Term::string("str")})));
  for (const Bytes& b : samples) {
    ASSERT_TRUE(decode_exact(b, b.size()).ok());
    for (std::size_t len = 0; len < b.size(); ++len) {
      auto t = decode_exact(b, len);
      EXPECT_FALSE(t.ok()) << "prefix " << len << " of " << b.size() << " accepted";
    }
  }
}

Bytes nested(std::size_t depth, std::uint8_t kind) {
  Bytes b = {131};
  for (std::size_t i = 0; i < depth; ++i) {
    if (kind == 'l') {
      b.insert(b.end(), {108, 0, 0, 0, 1});
    } else {
      b.insert(b.end(), {104, 1});
    }
  }
  b.push_back(106);
  if (kind == 'l') b.insert(b.end(), depth, 106);
  return b;
}

TEST(TermDecode, DeepNestingIsRejectedWithoutRecursion) {
  expect_decode_error(nested(100000, 'l'), "nesting deeper");
  expect_decode_error(nested(100000, 't'), "nesting deeper");
  expect_decode_error(nested(kMaxDecodeDepth + 1, 'l'), "nesting deeper");
  // 10 million nested tuple headers: the walk stays linear and the stack flat.
  expect_decode_error(nested(10000000, 't'), "nesting deeper");
  // Map values and closure free variables count as nesting too.
  Bytes maps = {131};
  for (std::size_t i = 0; i <= kMaxDecodeDepth; ++i)
    maps.insert(maps.end(), {116, 0, 0, 0, 1, 97, 0});
  maps.push_back(106);
  expect_decode_error(maps, "nesting deeper");
  maps.erase(maps.begin() + 1, maps.begin() + 8);  // one level less: accepted
  EXPECT_TRUE(decode_exact(maps, maps.size()).ok());
  // A closure whose single free variable sits at the depth limit.
  const Bytes inner = nested(kMaxDecodeDepth, 't');
  Bytes closure = kCompiledClosure;
  closure[30] = 1;  // num_free
  closure.insert(closure.end(), inner.begin() + 1, inner.end());
  const std::size_t size = closure.size() - 2;
  closure[2] = static_cast<std::uint8_t>(size >> 24);
  closure[3] = static_cast<std::uint8_t>(size >> 16);
  closure[4] = static_cast<std::uint8_t>(size >> 8);
  closure[5] = static_cast<std::uint8_t>(size);
  expect_decode_error(closure, "nesting deeper");
}

TEST(TermDecode, NestingUpToTheLimitWorks) {
  const Bytes bytes = nested(kMaxDecodeDepth, 'l');
  auto t = decode_exact(bytes, bytes.size());
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(encode(*t), bytes);
  const Term copy = *t;
  EXPECT_EQ(copy, *t);
  EXPECT_EQ(copy.to_string().size(), 2 * kMaxDecodeDepth + 2);
  const Bytes tuples = nested(kMaxDecodeDepth, 't');
  auto u = decode_exact(tuples, tuples.size());
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(encode(*u), tuples);
}

TEST(TermDecode, LongImproperTailChainsAreFlattened) {
  // [0|[1|[2|...|tail]]] written as 100000 nested LIST_EXT: one list, not deep nesting.
  constexpr std::size_t kCells = 100000;
  Bytes b = {131};
  for (std::size_t i = 0; i < kCells; ++i)
    b.insert(b.end(), {108, 0, 0, 0, 1, 97, static_cast<std::uint8_t>(i)});
  b.insert(b.end(), {119, 4, 't', 'a', 'i', 'l'});
  auto t = decode_exact(b, b.size());
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->list_view().size(), kCells);
  EXPECT_EQ(t->list_tail(), A("tail"));
  EXPECT_EQ(t->list_view()[300], I(300 % 256));
  expect_round_trip(*t);
}

TEST(TermDecode, GarbageNeverCrashes) {
  std::mt19937 rng(2024);
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(1 + rng() % 40);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    b[0] = 131;
    // Bias towards real tags so the walk gets past the first byte.
    if (b.size() > 1 && rng() % 2) b[1] = "abcdFhijklmMnopqrstvwXYZx"[rng() % 25];
    auto t = decode_exact(b, b.size());
    if (t.ok()) ++accepted;
  }
  // Some random inputs are valid (small integers, nil, ...); the point is no crash.
  EXPECT_GT(accepted, 0u);
}

// ---- randomized round trips
// -------------------------------------------------------------------------

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

TEST(TermCodec, RandomizedRoundTrips) {
  Generator gen(0xC0FFEE);
  std::vector<Term> terms;
  for (int i = 0; i < 5000; ++i) {
    const Term t = gen.term(4);
    const Bytes bytes = encode(t);
    std::size_t consumed = 0;
    auto back = decode_exact(bytes, bytes.size(), &consumed);
    ASSERT_TRUE(back.ok()) << t << ": " << back.error().message;
    ASSERT_EQ(*back, t) << "sent " << t << "\ngot  " << *back;
    ASSERT_EQ(consumed, bytes.size());
    ASSERT_EQ(back->to_string(), t.to_string());
    ASSERT_EQ(encode(*back), bytes) << t;  // the encoding is canonical
    terms.push_back(t);
  }
  // The order is a consistent total preorder over the generated terms.
  std::mt19937 rng(5);
  for (int i = 0; i < 20000; ++i) {
    const Term& a = terms[rng() % terms.size()];
    const Term& b = terms[rng() % terms.size()];
    const auto ab = a <=> b;
    const auto ba = b <=> a;
    ASSERT_EQ(ab<0, ba> 0) << a << " vs " << b;
    ASSERT_EQ(ab == 0, ba == 0) << a << " vs " << b;
    if (a == b) {
      ASSERT_TRUE(ab == 0);
    }
  }
  auto sorted = terms;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i) ASSERT_LE(sorted[i], sorted[i + 1]);
}

// Damaged valid encodings: each either fails cleanly or decodes to something that
// re-encodes and decodes to itself.
TEST(TermDecode, MutatedEncodingsNeverCrash) {
  Generator gen(77);
  std::mt19937 rng(78);
  for (int i = 0; i < 3000; ++i) {
    Bytes b = encode(gen.term(3));
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) {
      b[1 + rng() % (b.size() - 1)] = static_cast<std::uint8_t>(rng());
    }
    if (rng() % 4 == 0) b.resize(1 + rng() % b.size());
    auto t = decode_exact(b, b.size());
    if (t.ok()) {
      auto again = decode(encode(*t));
      ASSERT_TRUE(again.ok());
      ASSERT_EQ(*again, *t);
    }
  }
}

}  // namespace
}  // namespace convoy
