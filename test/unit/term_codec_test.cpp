// The external term format codec (src/ei/encode.cpp, decode.cpp): bytes produced by a real
// erl, encode/decode round trips of every kind, legacy forms, and randomized round trips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "convoy/term.hpp"
#include "term_test_support.hpp"

namespace convoy::test {
namespace {

// ---- bytes from a real Erlang node (samples in term_test_support.hpp) ---------------------------

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

// ---- round trips --------------------------------------------------------------------------------

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
  // A map with a duplicate key is refused, as BEAM refuses it (TermDecodeHostile has more).
  EXPECT_FALSE(decode(Bytes{131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97, 1, 97, 3}).ok());
}

// ---- randomized round trips ------------------------------------------------------------------

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

}  // namespace
}  // namespace convoy::test
