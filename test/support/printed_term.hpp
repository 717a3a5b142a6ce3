#pragma once
// Terms as the BEAM prints them with ~w / ~tw (the fixtures' tagged lines, e.g.
// `CALL ok {a,[1,2|t],<<98>>,#{k => 1.5}}`), read back into convoy::Term, so a test compares
// the value it means rather than a substring of the printed text.
//
// Reads what ~w / ~tw write for atoms (bare or quoted, with escapes; UTF-8), integers of any
// size, floats, tuples, proper and improper lists, binaries and bitstrings (<<1,2>>, <<1:3>>;
// also "abc" segments) and maps. Pids, ports, refs and funs are errors: ~w prints them
// without their node's creation, so no exact Term could be built from the text.
//
// Header-only: a few inline functions for the integration suites.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "convoy/result.hpp"
#include "convoy/term.hpp"

namespace convoy::test {
namespace printed_term_detail {

class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  Term whole() {
    Term t = term();
    skip_space();
    if (i_ != s_.size()) fail("text after the term");
    return t;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(what + " at offset " + std::to_string(i_));
  }
  bool at_end() const { return i_ >= s_.size(); }
  char peek(std::size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(std::string_view token) {
    skip_space();
    if (s_.substr(i_, token.size()) != token) return false;
    i_ += token.size();
    return true;
  }
  void expect(std::string_view token) {
    if (!eat(token)) fail("expected '" + std::string(token) + "'");
  }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_atom_start(char c) {
    return (c >= 'a' && c <= 'z') || static_cast<unsigned char>(c) >= 0x80;
  }
  static bool is_atom_char(char c) {
    return is_atom_start(c) || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '@';
  }

  Term term() {
    skip_space();
    const char c = peek();
    if (c == '{') return tuple();
    if (c == '[') return list();
    if (c == '<' && peek(1) == '<') return binary();
    if (c == '#' && peek(1) == '{') return map();
    if (c == '\'') return atom(quoted('\''));
    if (c == '-' || is_digit(c)) return number();
    if (is_atom_start(c)) {
      const std::size_t from = i_;
      while (!at_end() && is_atom_char(s_[i_])) ++i_;
      return atom(std::string(s_.substr(from, i_ - from)));
    }
    fail(c == '<' || c == '#' ? "a pid, port, ref or fun (no exact Term)" : "not a term");
  }

  Term atom(const std::string& name) {
    try {
      return Term::atom(name);
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
  }

  Term tuple() {
    expect("{");
    std::vector<Term> elements;
    if (!eat("}")) {
      do {
        elements.push_back(term());
      } while (eat(","));
      expect("}");
    }
    return Term::tuple(std::move(elements));
  }

  Term list() {
    expect("[");
    std::vector<Term> elements;
    Term tail;
    if (!eat("]")) {
      do {
        elements.push_back(term());
      } while (eat(","));
      if (eat("|")) tail = term();
      expect("]");
    }
    return Term::list(std::move(elements), std::move(tail));
  }

  Term map() {
    expect("#{");
    std::vector<std::pair<Term, Term>> entries;
    if (!eat("}")) {
      do {
        Term key = term();
        expect("=>");
        entries.emplace_back(std::move(key), term());
      } while (eat(","));
      expect("}");
    }
    return Term::map(std::move(entries));
  }

  Term binary() {
    expect("<<");
    std::vector<std::uint8_t> bytes;
    std::uint8_t bits = 8;
    if (!eat(">>")) {
      do {
        if (bits != 8) fail("a segment after a partial byte");
        skip_space();
        if (peek() == '"') {
          for (unsigned char ch : quoted('"')) bytes.push_back(ch);
          continue;
        }
        const std::string digits = unsigned_digits();
        const unsigned long value = std::stoul(digits);
        if (value > 255) fail("a byte above 255");
        bytes.push_back(static_cast<std::uint8_t>(value));
        if (eat(":")) {
          skip_space();
          const unsigned long size = std::stoul(unsigned_digits());
          if (size < 1 || size > 7 || value >= (1ul << size)) fail("a bad partial byte");
          // ~w prints the last bits as their value; Binary keeps them high-aligned.
          bytes.back() = static_cast<std::uint8_t>(value << (8 - size));
          bits = static_cast<std::uint8_t>(size);
        }
      } while (eat(","));
      expect(">>");
    }
    return bits == 8 ? Term::binary(std::move(bytes)) : Term::bitstring(std::move(bytes), bits);
  }

  std::string unsigned_digits() {
    const std::size_t from = i_;
    while (!at_end() && is_digit(s_[i_])) ++i_;
    if (i_ == from) fail("expected digits");
    return std::string(s_.substr(from, i_ - from));
  }

  Term number() {
    const std::size_t from = i_;
    const bool negative = peek() == '-';
    if (negative) ++i_;
    const std::string digits = unsigned_digits();
    if (peek() == '.' && is_digit(peek(1))) {
      ++i_;
      unsigned_digits();
      if (peek() == 'e' || peek() == 'E') {
        ++i_;
        if (peek() == '-' || peek() == '+') ++i_;
        unsigned_digits();
      }
      const std::string text(s_.substr(from, i_ - from));
      return Term::float_(std::strtod(text.c_str(), nullptr));
    }
    // Any size: the decimal digits into a little-endian base-256 magnitude.
    BigInt big{negative, {}};
    for (char d : digits) {
      unsigned carry = static_cast<unsigned>(d - '0');
      for (auto& byte : big.magnitude) {
        const unsigned v = byte * 10u + carry;
        byte = static_cast<std::uint8_t>(v & 0xff);
        carry = v >> 8;
      }
      if (carry != 0) big.magnitude.push_back(static_cast<std::uint8_t>(carry));
    }
    return Term::big(std::move(big));
  }

  // A quoted atom or string, escapes resolved; UTF-8 (or Latin-1 bytes) as printed.
  std::string quoted(char quote) {
    ++i_;  // the opening quote
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated quote");
      const char c = s_[i_++];
      if (c == quote) return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case 'b':
          out += '\b';
          break;
        case 'd':
          out += '\x7f';
          break;
        case 'e':
          out += '\x1b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 's':
          out += ' ';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case '^':
          if (at_end()) fail("unterminated escape");
          out += static_cast<char>(s_[i_++] & 0x1f);
          break;
        case 'x': {
          const bool braced = peek() == '{';
          if (braced) ++i_;
          const std::size_t from = i_;
          while (!at_end() && std::isxdigit(static_cast<unsigned char>(s_[i_])) &&
                 (braced || i_ - from < 2)) {
            ++i_;
          }
          if (i_ == from || (braced && !eat("}"))) fail("a bad \\x escape");
          const unsigned long cp =
              std::stoul(std::string(s_.substr(from, i_ - from - (braced ? 1 : 0))), nullptr, 16);
          if (cp > 0xff) fail("a \\x escape above 255");
          out += static_cast<char>(cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            unsigned v = static_cast<unsigned>(e - '0');
            for (int k = 0; k < 2 && peek() >= '0' && peek() <= '7'; ++k) {
              v = v * 8 + static_cast<unsigned>(s_[i_++] - '0');
            }
            out += static_cast<char>(v);
          } else {
            out += e;  // \\ \' \" and any other character stand for themselves
          }
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace printed_term_detail

// The one term `text` spells (surrounding blanks allowed); decode_error naming the offset
// where it stops being a term otherwise.
inline Result<Term> parse_printed_term(std::string_view text) {
  try {
    return printed_term_detail::Reader(text).whole();
  } catch (const std::exception& e) {
    return make_error(Errc::decode_error, std::string(e.what()) + " in: " + std::string(text));
  }
}

// The terms on the lines of `output` that start with `prefix` (e.g. "CALL ok "), in order.
// Throws std::runtime_error (a failed test) if the rest of such a line is not a term.
inline std::vector<Term> printed_terms(const std::string& output, std::string_view prefix) {
  std::vector<Term> terms;
  std::size_t at = 0;
  while (at < output.size()) {
    std::size_t end = output.find('\n', at);
    if (end == std::string::npos) end = output.size();
    const std::string_view line(output.data() + at, end - at);
    if (line.substr(0, prefix.size()) == prefix) {
      auto t = parse_printed_term(line.substr(prefix.size()));
      if (!t) throw std::runtime_error("printed_terms: " + t.error().message);
      terms.push_back(std::move(*t));
    }
    at = end + 1;
  }
  return terms;
}

// The term on the one line of `output` that starts with `prefix`; an error if no line or
// several do, or if the rest is not a term.
inline Result<Term> printed_term(const std::string& output, std::string_view prefix) {
  std::vector<Term> terms;
  try {
    terms = printed_terms(output, prefix);
  } catch (const std::runtime_error& e) {
    return make_error(Errc::decode_error, e.what());
  }
  if (terms.size() != 1) {
    return make_error(Errc::decode_error, std::to_string(terms.size()) + " lines start with '" +
                                              std::string(prefix) + "'");
  }
  return std::move(terms.front());
}

// True if `list` is a list with `element` among its elements (e.g. a node in a nodes() reply).
inline bool has_element(const Term& list, const Term& element) {
  if (!list.is_list()) return false;
  for (const auto& e : list.list_elements()) {
    if (e == element) return true;
  }
  return false;
}

}  // namespace convoy::test
