// Term construction and inspection (src/term/term.cpp): normalisation of integers, lists,
// strings and maps, the accessors, and the values Erlang cannot represent.
#include "convoy/term.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "term_test_support.hpp"

namespace convoy::test {
namespace {

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

}  // namespace
}  // namespace convoy::test
