// Term -> external term format through erl_interface: encode() and encode_append().
#include <ei.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "convoy/term.hpp"
#include "ei/codec_internal.hpp"
#include "ei/identity.hpp"

namespace convoy {
namespace {

using ei::kMaxPiece;

class Encoder {
 public:
  explicit Encoder(std::vector<std::uint8_t>& out) : out_(out) {}

  void version() {
    put([](char* b, int* i) { return ei_encode_version(b, i); });
  }

  void term(const Term& t) {
    switch (t.kind()) {
      case Term::Kind::integer: {
        const long long v = *t.as_integer();
        put([v](char* b, int* i) { return ei_encode_longlong(b, i, v); });
        return;
      }
      case Term::Kind::big_integer:
        big(*t.as_big());
        return;
      case Term::Kind::float_: {
        const double v = *t.as_float();
        put([v](char* b, int* i) { return ei_encode_double(b, i, v); });
        return;
      }
      case Term::Kind::atom:
        atom(t.as_atom()->name);
        return;
      case Term::Kind::ref:
        ref(*t.as_ref());
        return;
      case Term::Kind::closure: {
        const auto& bytes = t.as_closure()->encoded;
        check_piece(bytes.size());
        out_.insert(out_.end(), bytes.begin(), bytes.end());
        return;
      }
      case Term::Kind::export_fun:
        export_fun(*t.as_export_fun());
        return;
      case Term::Kind::port:
        port(*t.as_port());
        return;
      case Term::Kind::pid:
        pid(*t.as_pid());
        return;
      case Term::Kind::tuple: {
        const auto elements = t.elements();
        const int n = count(elements.size());
        put([n](char* b, int* i) { return ei_encode_tuple_header(b, i, n); });
        for (const Term& e : elements) term(e);
        return;
      }
      case Term::Kind::map: {
        const auto entries = t.map_entries();
        const int n = count(entries.size());
        put([n](char* b, int* i) { return ei_encode_map_header(b, i, n); });
        for (const auto& [k, v] : entries) {
          term(k);
          term(v);
        }
        return;
      }
      case Term::Kind::nil:
        nil();
        return;
      case Term::Kind::string:
        string(*t.as_string());
        return;
      case Term::Kind::list:
        list(t);
        return;
      case Term::Kind::binary:
        binary(*t.as_binary());
        return;
    }
  }

 private:
  // Calls an ei_encode_* function twice: with a NULL buffer, which ei documents as
  // "compute the size only", then straight into new space at the end of out_.
  template <class Fn>
  void put(Fn&& fn) {
    int size = 0;
    if (fn(nullptr, &size) < 0 || size < 0) throw std::logic_error("ei refused to encode a term");
    const std::size_t at = out_.size();
    out_.resize(at + static_cast<std::size_t>(size));
    int index = 0;
    if (fn(reinterpret_cast<char*>(out_.data() + at), &index) < 0 || index != size) {
      throw std::logic_error("ei encoded a different size than it measured");
    }
  }

  static void check_piece(std::size_t bytes) {
    if (bytes > kMaxPiece) {
      throw std::length_error("convoy::encode: a single element exceeds ei's 2 GiB limit");
    }
  }
  static int count(std::size_t n) {
    check_piece(n);
    return static_cast<int>(n);
  }

  void nil() {
    put([](char* b, int* i) { return ei_encode_list_header(b, i, 0); });
  }

  void atom(const std::string& name) {
    const int len = static_cast<int>(name.size());  // <= 255 code points by construction
    put([&name, len](char* b, int* i) {
      return ei_encode_atom_len_as(b, i, name.data(), len, ERLANG_UTF8, ERLANG_UTF8);
    });
  }

  void big(const BigInt& v) {
    check_piece(v.magnitude.size());
    // ei 5.3 keeps bignum digits as little-endian unsigned shorts.
    std::vector<unsigned short> digits((v.magnitude.size() + 1) / 2, 0);
    for (std::size_t i = 0; i < v.magnitude.size(); ++i) {
      digits[i / 2] =
          static_cast<unsigned short>(digits[i / 2] | (v.magnitude[i] << (8 * (i % 2))));
    }
    erlang_big b{};
    b.arity = static_cast<unsigned int>(v.magnitude.size());
    b.is_neg = v.negative ? 1 : 0;
    b.digits = digits.data();
    put([&b](char* buf, int* i) { return ei_encode_big(buf, i, &b); });
  }

  void string(const std::string& s) {
    // Above 65535 bytes ei writes a list of SMALL_INTEGER_EXT, two bytes per character.
    check_piece(s.size() * 2 + 16);
    const int len = static_cast<int>(s.size());
    put([&s, len](char* b, int* i) { return ei_encode_string_len(b, i, s.data(), len); });
  }

  void list(const Term& t) {
    const auto elements = t.list_view();
    const Term& tail = t.list_tail();
    // term_to_binary sends a proper list of bytes as STRING_EXT; so do we.
    if (tail.is_nil() && elements.size() <= 0xFFFF) {
      std::string bytes;
      bytes.reserve(elements.size());
      for (const Term& e : elements) {
        const std::int64_t* v = e.as_integer();
        if (v == nullptr || *v < 0 || *v > 255) break;
        bytes.push_back(static_cast<char>(*v));
      }
      if (bytes.size() == elements.size()) {
        string(bytes);
        return;
      }
    }
    const int n = count(elements.size());
    put([n](char* b, int* i) { return ei_encode_list_header(b, i, n); });
    for (const Term& e : elements) term(e);
    if (tail.is_nil()) {
      nil();
    } else {
      term(tail);
    }
  }

  void binary(const Binary& v) {
    check_piece(v.bytes.size() + 16);
    if (!v.is_bitstring()) {
      const long len = static_cast<long>(v.bytes.size());
      put([&v, len](char* b, int* i) { return ei_encode_binary(b, i, v.bytes.data(), len); });
      return;
    }
    const std::size_t nbits = (v.bytes.size() - 1) * 8 + v.bits;
    put([&v, nbits](char* b, int* i) {
      return ei_encode_bitstring(b, i, reinterpret_cast<const char*>(v.bytes.data()), 0, nbits);
    });
  }

  // Node and fun names were checked for NUL bytes and length by the Term constructors, so
  // the strlen-based ei structs below carry them intact.
  template <std::size_t N>
  static void copy_name(char (&dst)[N], const std::string& src) {
    const std::size_t n = std::min(src.size(), N - 1);
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
  }

  void pid(const Pid& p) {
    erlang_pid e{};
    copy_name(e.node, p.node);
    e.num = p.num;
    e.serial = p.serial;
    e.creation = p.creation;
    put([&e](char* b, int* i) { return ei_encode_pid(b, i, &e); });
  }

  void port(const Port& p) {
    erlang_port e{};
    copy_name(e.node, p.node);
    e.id = p.id;
    e.creation = p.creation;
    put([&e](char* b, int* i) { return ei_encode_port(b, i, &e); });
  }

  void ref(const Ref& r) {
    erlang_ref e{};
    copy_name(e.node, r.node);
    e.len = static_cast<int>(r.ids.size());  // 1..5 by construction
    std::copy(r.ids.begin(), r.ids.end(), e.n);
    e.creation = r.creation;
    put([&e](char* b, int* i) { return ei_encode_ref(b, i, &e); });
  }

  void export_fun(const ExportFun& f) {
    erlang_fun e{};
    e.type = erlang_fun::EI_FUN_EXPORT;
    e.arity = f.arity;
    copy_name(e.module, f.module);
    std::string function = f.function;  // ei wants a mutable char*
    e.u.exprt.func = function.data();
    e.u.exprt.func_allocated = 0;
    put([&e](char* b, int* i) { return ei_encode_fun(b, i, &e); });
  }

  std::vector<std::uint8_t>& out_;
};

}  // namespace

std::vector<std::uint8_t> encode(const Term& t) {
  std::vector<std::uint8_t> out;
  encode_append(t, out);
  return out;
}

void encode_append(const Term& t, std::vector<std::uint8_t>& out) {
  ei::ensure_initialised();
  const std::size_t before = out.size();
  try {
    Encoder e(out);
    e.version();
    e.term(t);
  } catch (...) {
    out.resize(before);  // leave no half-written term behind
    throw;
  }
}

}  // namespace convoy
