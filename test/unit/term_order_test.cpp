// Term equality and ordering (src/term/term_order.cpp): exact ==, and <=> in Erlang term
// order, checked against OTP 25 for the corner cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "convoy/term.hpp"
#include "term_test_support.hpp"

namespace convoy::test {
namespace {

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

}  // namespace
}  // namespace convoy::test
