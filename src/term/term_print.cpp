// Term printing in Erlang syntax: to_string() and operator<<.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "convoy/term.hpp"

namespace convoy {
namespace {

using Kind = Term::Kind;

std::string big_to_decimal(const BigInt& b) {
  std::vector<std::uint32_t> limbs((b.magnitude.size() + 3) / 4, 0);
  for (std::size_t i = 0; i < b.magnitude.size(); ++i) {
    limbs[i / 4] |= static_cast<std::uint32_t>(b.magnitude[i]) << (8 * (i % 4));
  }
  std::string digits;  // least significant first
  while (!limbs.empty()) {
    std::uint64_t rem = 0;
    for (std::size_t i = limbs.size(); i-- > 0;) {
      const std::uint64_t cur = (rem << 32) | limbs[i];
      limbs[i] = static_cast<std::uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
    for (int k = 0; k < 9 && (rem != 0 || !limbs.empty()); ++k) {
      digits.push_back(static_cast<char>('0' + rem % 10));
      rem /= 10;
    }
  }
  if (digits.empty()) digits = "0";
  if (b.negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

bool is_reserved_word(std::string_view s) {
  static constexpr std::array<std::string_view, 29> kWords = {
      "after", "and",   "andalso", "band",   "begin",   "bnot", "bor", "bsl",  "bsr", "bxor",
      "case",  "catch", "cond",    "div",    "else",    "end",  "fun", "if",   "let", "maybe",
      "not",   "of",    "or",      "orelse", "receive", "rem",  "try", "when", "xor"};
  return std::find(kWords.begin(), kWords.end(), s) != kWords.end();
}

bool atom_needs_quotes(std::string_view s) {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return true;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '@';
    if (!ok) return true;
  }
  return is_reserved_word(s);
}

// Escapes one byte inside a quoted atom or string. Bytes >= 0x80 (UTF-8) are kept.
void append_escaped(std::string& out, unsigned char c, char quote) {
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\v':
      out += "\\v";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case 27:
      out += "\\e";
      return;
    case 127:
      out += "\\d";
      return;
    case '\\':
      out += "\\\\";
      return;
    default:
      break;
  }
  if (c == static_cast<unsigned char>(quote)) {
    out += '\\';
    out += quote;
  } else if (c < 32) {
    out += '\\';
    out += static_cast<char>('0' + ((c >> 6) & 7));
    out += static_cast<char>('0' + ((c >> 3) & 7));
    out += static_cast<char>('0' + (c & 7));
  } else {
    out += static_cast<char>(c);
  }
}

void append_atom(std::string& out, std::string_view name) {
  if (!atom_needs_quotes(name)) {
    out += name;
    return;
  }
  out += '\'';
  for (char c : name) append_escaped(out, static_cast<unsigned char>(c), '\'');
  out += '\'';
}

// io_lib's printable ASCII: what Erlang would show as a string.
bool printable_char(std::int64_t c) {
  return (c >= 32 && c <= 126) || (c >= 8 && c <= 13) || c == 27;
}

void append_quoted(std::string& out, const auto& chars) {
  out += '"';
  for (auto c : chars) append_escaped(out, static_cast<unsigned char>(c), '"');
  out += '"';
}

void append_double(std::string& out, double d) {
  std::array<char, 64> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  std::string text(buf.data(), res.ptr);
  // Erlang float literals need a '.' with digits on both sides.
  if (text.find_first_of(".e") == std::string::npos) {
    text += ".0";
  } else if (text.find('.') == std::string::npos) {
    text.insert(text.find('e'), ".0");
  }
  out += text;
}

// The text being printed, and where to stop: past `limit` characters the rest of the term is
// skipped (not printed and thrown away), so a huge term costs only what is shown.
struct Out {
  std::string s;
  std::size_t limit = std::string::npos;
  bool full(std::size_t pending = 0) const { return s.size() + pending >= limit; }
  // How many of `n` elements to look at for a decision about the whole (printable or not).
  std::size_t scan(std::size_t n) const {
    return limit == std::string::npos ? n : std::min(n, limit);
  }
};

void print(Out& out, const Term& t);

void print_list(Out& out, const Term& t) {
  // Printable charlists (either representation) print as strings so that equal terms
  // print the same.
  std::string chars;
  bool printable = t.list_tail().is_nil();
  if (const std::string* s = t.as_string()) {
    printable =
        std::all_of(s->begin(), s->begin() + static_cast<std::ptrdiff_t>(out.scan(s->size())),
                    [](char c) { return printable_char(static_cast<unsigned char>(c)); });
    if (printable) {
      append_quoted(out.s, *s);
      return;
    }
  } else if (printable) {
    for (const Term& e : t.list_view()) {
      if (out.full(chars.size())) break;
      const std::int64_t* i = e.as_integer();
      if (i == nullptr || !printable_char(*i)) {
        printable = false;
        break;
      }
      chars += static_cast<char>(*i);
    }
    if (printable) {
      append_quoted(out.s, chars);
      return;
    }
  }
  out.s += '[';
  if (const std::string* s = t.as_string()) {
    for (std::size_t i = 0; i < s->size() && !out.full(); ++i) {
      if (i > 0) out.s += ',';
      out.s += std::to_string(static_cast<unsigned char>((*s)[i]));
    }
  } else {
    bool first = true;
    for (const Term& e : t.list_view()) {
      if (out.full()) break;
      if (!first) out.s += ',';
      first = false;
      print(out, e);
    }
  }
  if (!t.list_tail().is_nil()) {
    out.s += '|';
    print(out, t.list_tail());
  }
  out.s += ']';
}

void print_binary(Out& out, const Binary& b) {
  out.s += "<<";
  const bool printable =
      !b.bytes.empty() && !b.is_bitstring() &&
      std::all_of(b.bytes.begin(),
                  b.bytes.begin() + static_cast<std::ptrdiff_t>(out.scan(b.bytes.size())),
                  [](std::uint8_t c) { return printable_char(c); });
  if (printable) {
    append_quoted(out.s, b.bytes);
  } else {
    for (std::size_t i = 0; i < b.bytes.size() && !out.full(); ++i) {
      if (i > 0) out.s += ',';
      if (i + 1 == b.bytes.size() && b.is_bitstring()) {
        out.s += std::to_string(b.bytes[i] >> (8 - b.bits));
        out.s += ':';
        out.s += std::to_string(b.bits);
      } else {
        out.s += std::to_string(b.bytes[i]);
      }
    }
  }
  out.s += ">>";
}

void print(Out& out, const Term& t) {
  switch (t.kind()) {
    case Kind::integer:
      out.s += std::to_string(*t.as_integer());
      return;
    case Kind::big_integer:
      out.s += big_to_decimal(*t.as_big());
      return;
    case Kind::float_:
      append_double(out.s, *t.as_float());
      return;
    case Kind::atom:
      append_atom(out.s, t.as_atom()->name);
      return;
    case Kind::ref: {
      const Ref& r = *t.as_ref();
      out.s += "#Ref<";
      append_atom(out.s, r.node);
      for (std::size_t i = r.ids.size(); i-- > 0;) {
        out.s += '.';
        out.s += std::to_string(r.ids[i]);
      }
      out.s += '>';
      return;
    }
    case Kind::closure: {
      const Closure& c = *t.as_closure();
      out.s += "#Fun<";
      append_atom(out.s, c.module);
      out.s += '.';
      out.s += std::to_string(c.arity);
      out.s += '>';
      return;
    }
    case Kind::export_fun: {
      const ExportFun& f = *t.as_export_fun();
      out.s += "fun ";
      append_atom(out.s, f.module);
      out.s += ':';
      append_atom(out.s, f.function);
      out.s += '/';
      out.s += std::to_string(f.arity);
      return;
    }
    case Kind::port: {
      const Port& p = *t.as_port();
      out.s += "#Port<";
      append_atom(out.s, p.node);
      out.s += '.';
      out.s += std::to_string(p.id);
      out.s += '>';
      return;
    }
    case Kind::pid: {
      const Pid& p = *t.as_pid();
      out.s += '<';
      append_atom(out.s, p.node);
      out.s += '.';
      out.s += std::to_string(p.num);
      out.s += '.';
      out.s += std::to_string(p.serial);
      out.s += '>';
      return;
    }
    case Kind::tuple: {
      out.s += '{';
      bool first = true;
      for (const Term& e : t.elements()) {
        if (out.full()) break;
        if (!first) out.s += ',';
        first = false;
        print(out, e);
      }
      out.s += '}';
      return;
    }
    case Kind::map: {
      out.s += "#{";
      bool first = true;
      for (const auto& [k, v] : t.map_entries()) {
        if (out.full()) break;
        if (!first) out.s += ',';
        first = false;
        print(out, k);
        out.s += " => ";
        print(out, v);
      }
      out.s += '}';
      return;
    }
    case Kind::nil:
      out.s += "[]";
      return;
    case Kind::string:
    case Kind::list:
      print_list(out, t);
      return;
    case Kind::binary:
      print_binary(out, *t.as_binary());
      return;
  }
}

}  // namespace

std::string Term::to_string() const {
  Out out;
  print(out, *this);
  return std::move(out.s);
}

std::string Term::to_string(std::size_t max_chars) const {
  Out out;
  out.limit = max_chars;
  print(out, *this);
  if (out.s.size() <= max_chars) return std::move(out.s);
  out.s.resize(max_chars);
  out.s += "...(truncated)";
  return std::move(out.s);
}

std::ostream& operator<<(std::ostream& os, const Term& t) { return os << t.to_string(); }

}  // namespace convoy
