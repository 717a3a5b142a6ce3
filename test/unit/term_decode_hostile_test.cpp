// decode() on hand-made external-term bytes that carry values a Term constructor refuses
// (include/convoy/term.hpp lists them). The validator must turn each into a decode_error
// before any Term is built: decode() catches nothing, so a constructor throwing here would
// escape as an exception. Complements TermDecode.RejectsMalformedInput in the term codec
// tests, which already covers a non-UTF-8 SMALL_ATOM_UTF8_EXT, a pid node holding NUL,
// NEWER_REFERENCE_EXT with 0 and 6 words, NEW_FLOAT_EXT +inf and NaN, BIT_BINARY_EXT with
// bits 0 and 9 and an EXPORT_EXT arity given as INTEGER_EXT.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "convoy/term.hpp"

namespace convoy {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Tags, spelled out here so the test does not lean on <ei.h>.
constexpr std::uint8_t kSmallInt = 97, kInt = 98, kFloat = 99, kAtom = 100, kNewRef = 114,
                       kSmallAtom = 115, kNil = 106, kSmallBig = 110, kBitBinary = 77,
                       kNewFloat = 70, kNewPid = 88, kNewerRef = 90, kV4Port = 120, kExport = 113,
                       kNewFun = 112, kAtomUtf8 = 118, kSmallAtomUtf8 = 119;

void put16(Bytes& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint64_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes b;
  for (const Bytes& p : parts) append(b, p);
  return b;
}
Bytes with_version(const Bytes& body) { return cat({{131}, body}); }

// An atom with the given tag and raw text bytes (no checks: the point is hostile text).
Bytes atom_ext(std::uint8_t tag, std::string_view text) {
  Bytes b = {tag};
  if (tag == kSmallAtom || tag == kSmallAtomUtf8) {
    b.push_back(static_cast<std::uint8_t>(text.size()));
  } else {
    put16(b, text.size());
  }
  b.insert(b.end(), text.begin(), text.end());
  return b;
}
Bytes utf8_atom(std::string_view text) {
  return atom_ext(text.size() <= 255 ? kSmallAtomUtf8 : kAtomUtf8, text);
}

Bytes pid_with(const Bytes& node) {
  Bytes b = cat({{kNewPid}, node});
  put32(b, 5);  // num
  put32(b, 0);  // serial
  put32(b, 1);  // creation
  return b;
}
Bytes port_with(const Bytes& node) {
  Bytes b = cat({{kV4Port}, node});
  put32(b, 0);
  put32(b, 9);  // id (64 bits)
  put32(b, 1);  // creation
  return b;
}
Bytes ref_with(const Bytes& node, std::size_t words = 3, std::uint8_t tag = kNewerRef) {
  Bytes b = {tag};
  put16(b, words);
  append(b, node);
  if (tag == kNewerRef) {
    put32(b, 1);  // creation
  } else {
    b.push_back(1);
  }
  for (std::size_t i = 0; i < words; ++i) put32(b, i + 1);
  return b;
}
Bytes export_with(const Bytes& module, const Bytes& function, const Bytes& arity = {kSmallInt, 2}) {
  return cat({{kExport}, module, function, arity});
}

// NEW_FUN_EXT with a correct size field unless `size_delta` skews it.
Bytes closure_with(const Bytes& module, std::uint8_t arity = 1, const Bytes& free_vars = {},
                   std::size_t num_free = 0, const Bytes& pid = pid_with(utf8_atom("a@h")),
                   long size_delta = 0) {
  Bytes body = {arity};
  for (int i = 0; i < 16; ++i) body.push_back(static_cast<std::uint8_t>(0xA0 + i));  // uniq
  put32(body, 0);                                                                    // index
  put32(body, num_free);
  append(body, module);
  append(body, {kSmallInt, 0});      // old index
  append(body, {kInt, 1, 2, 3, 4});  // old uniq
  append(body, pid);
  append(body, free_vars);
  Bytes b = {kNewFun};
  put32(b, static_cast<std::uint64_t>(static_cast<long>(body.size() + 4) + size_delta));
  append(b, body);
  return b;
}

// Decodes from a heap buffer of exactly the input's size, so ASan flags any overread.
Result<Term> decode_exact(const Bytes& bytes) {
  auto copy = std::make_unique<std::uint8_t[]>(std::max<std::size_t>(bytes.size(), 1));
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  return decode(std::span<const std::uint8_t>(copy.get(), bytes.size()));
}

// The body (without 131) is refused by the validator: a decode_error naming `needle`
// and the offending byte, never an exception.
void expect_rejected(const Bytes& body, std::string_view needle) {
  std::optional<Result<Term>> t;
  ASSERT_NO_THROW(t.emplace(decode_exact(with_version(body))));
  ASSERT_FALSE(t->ok()) << "accepted " << **t;
  EXPECT_EQ(t->error().code, make_error_code(Errc::decode_error));
  EXPECT_NE(t->error().message.find(needle), std::string::npos) << t->error().message;
  EXPECT_NE(t->error().message.find("(at byte "), std::string::npos) << t->error().message;
}

Term expect_accepted(const Bytes& body) {
  std::optional<Result<Term>> t;
  EXPECT_NO_THROW(t.emplace(decode_exact(with_version(body))));
  if (!t) return Term::atom("threw");
  EXPECT_TRUE(t->ok()) << t->error().message;
  if (!t->ok()) return Term::atom("rejected");
  return std::move(*t).value();
}

// Every place ei reads an atom, with `atom` in it.
std::vector<std::pair<std::string, Bytes>> atom_sites(const Bytes& atom) {
  const Bytes ok = utf8_atom("ok");
  return {
      {"atom", atom},
      {"atom in a tuple", cat({{104, 2}, ok, atom})},
      {"map key", cat({{116, 0, 0, 0, 1}, atom, {kNil}})},
      {"pid node", pid_with(atom)},
      {"port node", port_with(atom)},
      {"ref node", ref_with(atom)},
      {"export module", export_with(atom, ok)},
      {"export function", export_with(ok, atom)},
      {"closure module", closure_with(atom)},
      {"closure free variable's pid node", closure_with(ok, 0, pid_with(atom), 1)},
  };
}

const std::vector<std::pair<std::string, std::string>>& bad_utf8() {
  static const std::vector<std::pair<std::string, std::string>> cases = {
      {"lone continuation byte", "a\x80"},       {"0xFF", "\xFF"},
      {"0xC0 lead (overlong)", "\xC0\x80"},      {"overlong 3-byte", "\xE0\x80\x80"},
      {"overlong 4-byte", "\xF0\x80\x80\x80"},   {"surrogate", "\xED\xA0\x80"},
      {"above U+10FFFF", "\xF4\x90\x80\x80"},    {"0xF5 lead", "\xF5\x80\x80\x80"},
      {"sequence cut at the end", "ab\xE2\x82"}, {"continuation missing", "\xC3\x41"},
  };
  return cases;
}

// ---- atoms: UTF-8

TEST(TermDecodeHostile, AtomTextMustBeStrictUtf8Everywhere) {
  for (const auto& [what, text] : bad_utf8()) {
    for (std::uint8_t tag : {kSmallAtomUtf8, kAtomUtf8}) {
      for (const auto& [site, body] : atom_sites(atom_ext(tag, text))) {
        SCOPED_TRACE(what + " in " + site + " (tag " + std::to_string(tag) + ")");
        expect_rejected(body, "UTF-8");
      }
    }
  }
}

TEST(TermDecodeHostile, ValidUtf8AndLatin1AtomsAreAccepted) {
  // Control for the test above: the same sites with good text decode.
  const std::string text = "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
  for (const auto& [site, body] : atom_sites(utf8_atom(text))) {
    SCOPED_TRACE(site);
    expect_accepted(body);
  }
  EXPECT_EQ(expect_accepted(utf8_atom(text)), Term::atom(text));
  EXPECT_EQ(expect_accepted(pid_with(utf8_atom(text))), Term::pid(Pid{text, 5, 0, 1}));
  // Latin-1 text needs no UTF-8 check: ei converts it (0xE9 -> U+00E9).
  EXPECT_EQ(expect_accepted(atom_ext(kAtom, "\xE9t\xE9")), Term::atom("\xC3\xA9t\xC3\xA9"));
  EXPECT_EQ(expect_accepted(ref_with(atom_ext(kSmallAtom, "\xFF@h"))),
            Term::ref(Ref{"\xC3\xBF@h", 1, {1, 2, 3}}));
  // A plain atom may hold NUL (Term::atom allows it, and ei copies it with the length).
  EXPECT_EQ(expect_accepted(utf8_atom(std::string("a\0b", 3))),
            Term::atom(std::string_view("a\0b", 3)));
}

// ---- atoms: 255 characters

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(TermDecodeHostile, AtomsOfMoreThan255CharactersAreRejected) {
  // SMALL_ATOM_UTF8_EXT holds at most 255 bytes, so 256 characters need ATOM_UTF8_EXT.
  for (const auto& [what, text] : std::vector<std::pair<std::string, std::string>>{
           {"256 ASCII", repeat("a", 256)},
           {"256 two-byte", repeat("\xC3\xA9", 256)},
           {"256 three-byte", repeat("\xE2\x82\xAC", 256)},
           {"255 four-byte and one ASCII", repeat("\xF0\x9F\x98\x80", 255) + "a"},
           {"1020 ASCII", repeat("a", 1020)},
       }) {
    ASSERT_LE(text.size(), 1021u);
    for (const auto& [site, body] : atom_sites(atom_ext(kAtomUtf8, text))) {
      SCOPED_TRACE(what + " in " + site);
      expect_rejected(body, "longer than 255 characters");
    }
  }
  // Longer than ei's buffers, in either encoding.
  expect_rejected(atom_ext(kAtomUtf8, repeat("\xF0\x9F\x98\x80", 256)), "255 characters");
  expect_rejected(atom_ext(kAtom, repeat("a", 256)), "255 characters");
  expect_rejected(pid_with(atom_ext(kAtom, repeat("\xE9", 256))), "255 characters");
}

TEST(TermDecodeHostile, AtomsOf255CharactersAreAccepted) {
  for (const std::string& text :
       {repeat("a", 255), repeat("\xC3\xA9", 255), repeat("\xF0\x9F\x98\x80", 255)}) {
    SCOPED_TRACE(text.size());
    EXPECT_EQ(expect_accepted(atom_ext(kAtomUtf8, text)), Term::atom(text));
    // ei reads an export's function name into what the module left of its buffer, and
    // allocates when that is too small.
    EXPECT_EQ(expect_accepted(export_with(atom_ext(kAtomUtf8, text), atom_ext(kAtomUtf8, text))),
              Term::export_fun(ExportFun{text, text, 2}));
    const Term c = expect_accepted(closure_with(atom_ext(kAtomUtf8, text)));
    ASSERT_NE(c.as_closure(), nullptr);
    EXPECT_EQ(c.as_closure()->module, text);
  }
  EXPECT_EQ(expect_accepted(atom_ext(kAtom, repeat("\xE9", 255))),
            Term::atom(repeat("\xC3\xA9", 255)));
}

// ---- NUL in names ei returns as C strings

TEST(TermDecodeHostile, NulInNodeModuleOrFunctionNamesIsRejected) {
  const Bytes ok = utf8_atom("ok");
  for (const std::string& name :
       {std::string("a\0h", 3), std::string("\0", 1), std::string("a@h\0", 4)}) {
    for (std::uint8_t tag : {kAtom, kSmallAtom, kAtomUtf8, kSmallAtomUtf8}) {
      const Bytes atom = atom_ext(tag, name);
      const std::vector<std::pair<std::string, Bytes>> sites = {
          {"pid node", pid_with(atom)},
          {"port node", port_with(atom)},
          {"ref node", ref_with(atom)},
          {"old ref node", ref_with(atom, 2, kNewRef)},
          {"export module", export_with(atom, ok)},
          {"export function", export_with(ok, atom)},
          {"closure module", closure_with(atom)},
          {"closure pid node", closure_with(ok, 1, {}, 0, pid_with(atom))},
      };
      for (const auto& [site, body] : sites) {
        SCOPED_TRACE(site + " (tag " + std::to_string(tag) + ", " + std::to_string(name.size()) +
                     " bytes)");
        expect_rejected(body, "NUL");
      }
    }
  }
}

// ---- floats

Bytes new_float(std::uint64_t bits) {
  Bytes b = {kNewFloat};
  put32(b, bits >> 32);
  put32(b, bits & 0xFFFFFFFFu);
  return b;
}
Bytes old_float(std::string_view text) {
  Bytes b = {kFloat};
  b.insert(b.end(), text.begin(), text.end());
  b.resize(32, 0);
  return b;
}

TEST(TermDecodeHostile, NonFiniteFloatsAreRejected) {
  for (std::uint64_t bits : {0x7FF0000000000000ull, 0xFFF0000000000000ull, 0x7FF8000000000000ull,
                             0x7FF0000000000001ull, 0xFFFFFFFFFFFFFFFFull, 0x7FFFFFFFFFFFFFFFull}) {
    SCOPED_TRACE(bits);
    expect_rejected(new_float(bits), "non-finite");
    expect_rejected(cat({{108, 0, 0, 0, 1}, new_float(bits), {kNil}}), "non-finite");
  }
  // FLOAT_EXT is text for sscanf("%lf"), which reads inf, nan and out-of-range exponents too.
  for (const char* text : {"inf", "-inf", "INF", "infinity", "nan", "-nan", "NaN(123)", "1e400",
                           "-1.5e+309", " inf", "0x1p2000"}) {
    SCOPED_TRACE(text);
    expect_rejected(old_float(text), "non-finite");
  }
  expect_rejected(old_float("x"), "not a number");
  expect_rejected(old_float(""), "not a number");
}

TEST(TermDecodeHostile, FiniteFloatsAtTheEdgesAreAccepted) {
  EXPECT_EQ(expect_accepted(new_float(0x7FEFFFFFFFFFFFFFull)),
            Term::float_(std::numeric_limits<double>::max()));
  EXPECT_EQ(expect_accepted(new_float(0x8000000000000001ull)),
            Term::float_(-std::numeric_limits<double>::denorm_min()));
  EXPECT_EQ(expect_accepted(old_float("1.00000000000000000000e+300")), Term::float_(1e300));
  EXPECT_EQ(expect_accepted(old_float("-2.5")), Term::float_(-2.5));
  const Term tiny = expect_accepted(old_float("1e-400"));  // underflows to 0: still finite
  ASSERT_NE(tiny.as_float(), nullptr);
  EXPECT_EQ(*tiny.as_float(), 0.0);
}

// ---- refs

TEST(TermDecodeHostile, RefsNeedOneToFiveIdWords) {
  const Bytes node = utf8_atom("a@h");
  for (std::uint8_t tag : {kNewRef, kNewerRef}) {
    SCOPED_TRACE(tag);
    // NEWER_REFERENCE_EXT with 0 and 6 words is in the codec tests; the rest here.
    for (std::size_t words :
         {std::size_t{0}, std::size_t{6}, std::size_t{255}, std::size_t{65535}}) {
      if (tag == kNewerRef && (words == 0 || words == 6)) continue;
      SCOPED_TRACE(words);
      expect_rejected(ref_with(node, words, tag), "1..5 id words");
    }
    for (std::size_t words = 1; words <= 5; ++words) {
      const Term r = expect_accepted(ref_with(node, words, tag));
      ASSERT_NE(r.as_ref(), nullptr);
      EXPECT_EQ(r.as_ref()->ids.size(), words);
    }
  }
}

// ---- fun arity

TEST(TermDecodeHostile, ExportFunArityAbove255IsRejected) {
  const Bytes m = utf8_atom("m");
  const Bytes f = utf8_atom("f");
  expect_rejected(export_with(m, f, {kInt, 0, 0, 1, 0}), "arity");              // 256
  expect_rejected(export_with(m, f, {kInt, 0xFF, 0xFF, 0xFF, 0xFF}), "arity");  // -1
  expect_rejected(export_with(m, f, {kSmallBig, 2, 0, 0, 1}), "arity");         // 256
  expect_rejected(export_with(m, f, utf8_atom("x")), "arity");
  expect_rejected(export_with(m, f, {kSmallInt}), "truncated");
  EXPECT_EQ(expect_accepted(export_with(m, f, {kSmallInt, 255})),
            Term::export_fun(ExportFun{"m", "f", 255}));
}

// ---- bitstrings

TEST(TermDecodeHostile, BitstringTrailingBitsMustBe1To8) {
  // Bits 0 and 9 on one byte are in the codec tests.
  expect_rejected({kBitBinary, 0, 0, 0, 2, 0, 1, 2}, "bit");
  expect_rejected({kBitBinary, 0, 0, 0, 2, 9, 1, 2}, "bit");
  expect_rejected({kBitBinary, 0, 0, 0, 1, 255, 1}, "bit");
  expect_rejected({kBitBinary, 0, 0, 0, 0, 8}, "bit");
  expect_rejected({kBitBinary, 0, 0, 0, 0, 1}, "bit");
  EXPECT_EQ(expect_accepted({kBitBinary, 0, 0, 0, 1, 1, 0xFF}), Term::bitstring({0xFF}, 1));
  EXPECT_EQ(expect_accepted({kBitBinary, 0, 0, 0, 2, 8, 1, 2}), Term::binary(Bytes{1, 2}));
  EXPECT_EQ(expect_accepted({kBitBinary, 0, 0, 0, 0, 0}), Term::binary(Bytes{}));
}

// ---- maps

// BEAM's binary_to_term refuses a map with a key twice; merging would let the two ends of a
// link disagree about what was sent.
TEST(TermDecodeHostile, MapsWithADuplicateKeyAreRejected) {
  expect_rejected({116, 0, 0, 0, 2, kSmallInt, 1, kSmallInt, 2, kSmallInt, 1, kSmallInt, 3},
                  "duplicate");
  expect_rejected(cat({{116, 0, 0, 0, 2}, utf8_atom("k"), {kNil}, utf8_atom("k"), {kNil}}),
                  "duplicate");
  // 1 and 1.0 are different keys (maps compare keys exactly).
  const Term t = expect_accepted(
      {116, 0, 0, 0, 2, kSmallInt, 1, kNil, kNewFloat, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, kNil});
  EXPECT_EQ(t.map_entries().size(), 2u);
}

// ---- closure encodings

TEST(TermDecodeHostile, HandMadeClosuresDecodeToTheirOwnEncoding) {
  // NEW_FUN_EXT cannot express an arity above 255: one byte. The largest one decodes.
  for (std::uint8_t arity : {0, 2, 255}) {
    const Bytes c = closure_with(utf8_atom("mod"), arity, cat({{kSmallInt, 7}, utf8_atom("x")}), 2);
    const Term t = expect_accepted(c);
    ASSERT_NE(t.as_closure(), nullptr);
    EXPECT_EQ(t.as_closure()->module, "mod");
    EXPECT_EQ(t.as_closure()->arity, arity);
    EXPECT_EQ(t.as_closure()->encoded, c);
    EXPECT_EQ(encode(t), with_version(c));
  }
}

TEST(TermDecodeHostile, TruncatedOrInconsistentClosuresAreRejected) {
  const Bytes m = utf8_atom("mod");
  const Bytes free_vars = cat({{kSmallInt, 7}, utf8_atom("x")});
  const Bytes good = closure_with(m, 2, free_vars, 2);
  // Every cut.
  for (std::size_t len = 0; len < good.size(); ++len) {
    SCOPED_TRACE(len);
    const Bytes cut(good.begin(), good.begin() + static_cast<long>(len));
    std::optional<Result<Term>> t;
    ASSERT_NO_THROW(t.emplace(decode_exact(with_version(cut))));
    EXPECT_FALSE(t->ok());
  }
  // The size field disagrees with where the free variables end.
  expect_rejected(closure_with(m, 2, free_vars, 2, pid_with(utf8_atom("a@h")), -1), "closure");
  expect_rejected(cat({closure_with(m, 2, free_vars, 2, pid_with(utf8_atom("a@h")), 1), {kNil}}),
                  "closure");
  // Sizes too small for the fixed header, or beyond the input.
  expect_rejected({kNewFun, 0, 0, 0, 0}, "closure size");
  expect_rejected({kNewFun, 0, 0, 0, 28, 1}, "closure size");
  expect_rejected(closure_with(m, 2, {}, 0, pid_with(utf8_atom("a@h")), 0x7FFFFFF0),
                  "closure size");
  // The fixed part runs past the size field (which ends inside the pid), or lacks the pid.
  const Bytes pid = pid_with(utf8_atom("a@h"));
  expect_rejected(closure_with(m, 1, {}, 0, pid, -static_cast<long>(pid.size() / 2)), "truncated");
  expect_rejected(closure_with(m, 1, {}, 0, {}), "truncated");
  // num_free larger than the free variables present / than the input.
  expect_rejected(closure_with(m, 2, free_vars, 3), "truncated");
  expect_rejected(cat({closure_with(m, 2, free_vars, 3), {kNil}}), "closure");
  expect_rejected(closure_with(m, 2, free_vars, 0xFFFFFFFF), "count");
  // Not a pid where the pid goes; old index/uniq not integers.
  expect_rejected(closure_with(m, 1, {}, 0, utf8_atom("notapid")), "pid");
  Bytes bad_index = closure_with(m);
  const std::size_t at = 1 + 4 + 1 + 16 + 4 + 4 + m.size();
  ASSERT_EQ(bad_index[at], kSmallInt);
  bad_index[at] = kNil;
  expect_rejected(bad_index, "small integer");
}

}  // namespace
}  // namespace convoy

namespace convoy {
namespace {

// Issue 9, defect 2: 30 MB of `[]` decoded to 2.4 GB of Terms (9.3 GB at peak through a
// call). The decode limit refuses it from the bytes alone, before anything is allocated.
TEST(TermDecodeLimits, ALongListOfTinyTermsIsOverTheDefaultBudget) {
  const std::size_t n = 30'000'000;
  Bytes b{131, 108};
  put32(b, n);
  b.insert(b.end(), n + 1, kNil);
  auto t = decode(b);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, make_error_code(Errc::limit_exceeded)) << t.error().message;
  EXPECT_NE(t.error().message.find("more than 268435456 bytes"), std::string::npos)
      << t.error().message;
}

TEST(TermDecodeLimits, TheBudgetCountsTermsAndTheirHeapData) {
  const DecodeLimits small{.max_depth = kMaxDecodeDepth, .max_bytes = 1u << 20};
  // 20 000 empty lists: 20 KB of input, 1.6 MB of Terms.
  Bytes list{131, 108};
  put32(list, 20000);
  list.insert(list.end(), 20001, kNil);
  EXPECT_EQ(decode(list, nullptr, small).error().code, make_error_code(Errc::limit_exceeded));
  EXPECT_TRUE(decode(list).ok());
  // A binary costs its bytes.
  EXPECT_EQ(decode(encode(Term::binary(std::string(2u << 20, 'x'))), nullptr, small).error().code,
            make_error_code(Errc::limit_exceeded));
  EXPECT_TRUE(decode(encode(Term::binary(std::string(512u << 10, 'x'))), nullptr, small).ok());
}

// What BEAM peers send without complaint still decodes with the defaults: a 64 MiB binary.
TEST(TermDecodeLimits, A64MiBBinaryFitsTheDefaultBudget) {
  auto t = decode(encode(Term::binary(std::string(64u << 20, 'x'))));
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->as_binary()->bytes.size(), 64u << 20);
}

// A message envelope may add kEnvelopeDepth levels on top of kMaxDecodeDepth; no more.
TEST(TermDecodeLimits, TheDepthLimitCanBeRaisedOnlyByTheEnvelope) {
  Term deep = Term::nil();
  for (std::size_t i = 0; i < kMaxDecodeDepth + kEnvelopeDepth; ++i) deep = Term::tuple({deep});
  const auto bytes = encode(deep);
  EXPECT_FALSE(decode(bytes).ok());
  EXPECT_TRUE(decode(bytes, nullptr, {.max_depth = kMaxDecodeDepth + kEnvelopeDepth}).ok());
  EXPECT_FALSE(decode(encode(Term::tuple({deep})), nullptr, {.max_depth = 1u << 20}).ok());
}

}  // namespace
}  // namespace convoy
