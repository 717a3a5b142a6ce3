// Term printing (src/term/term_print.cpp): to_string and operator<< in Erlang syntax, and
// floats that read back to the same double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <string_view>

#include "convoy/term.hpp"
#include "term_test_support.hpp"

namespace convoy::test {
namespace {

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

// For log lines: a bounded prefix, and the rest of the term not printed at all.
TEST(TermPrint, ToStringWithALimitCutsAndSaysSo) {
  const Term small = Term::tuple({Term::atom("ok"), Term::integer(std::int64_t{1})});
  EXPECT_EQ(small.to_string(200), small.to_string());
  const Term big_binary = Term::binary(std::vector<std::uint8_t>(64u << 20, 7));
  const auto b = big_binary.to_string(200);
  EXPECT_EQ(b, big_binary.to_string().substr(0, 200) + "...(truncated)");
  std::vector<Term> many(1000000, Term::nil());
  const Term big_list = Term::list(std::move(many));
  const auto l = big_list.to_string(50);
  EXPECT_EQ(l, big_list.to_string().substr(0, 50) + "...(truncated)");
  const Term nested =
      Term::map({{Term::atom("k"), Term::tuple({Term::string(std::string(10000, 'x'))})}});
  EXPECT_EQ(nested.to_string(20), nested.to_string().substr(0, 20) + "...(truncated)");
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

}  // namespace
}  // namespace convoy::test
