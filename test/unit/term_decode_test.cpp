// Decoding hostile input (src/ei/validate.cpp, decode.cpp): malformed, truncated, deeply
// nested, random and mutated bytes must fail cleanly with a decode_error, never crash.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "convoy/term.hpp"
#include "term_test_support.hpp"

namespace convoy::test {
namespace {

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
}  // namespace convoy::test
