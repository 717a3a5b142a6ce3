// Term <-> external term format, through erl_interface.
//
// Decoding reads untrusted bytes, and ei's decoders take no length: they trust every length
// field and follow every nesting level recursively. So decode() first runs validate(), a
// bounds-checked, iterative walk over the whole term that checks each length against the
// bytes left, caps nesting at kMaxDecodeDepth and rejects anything ei would misread. Only
// when that succeeds are ei's decoders run over the same bytes, and then only over the
// prefix validate() vouched for.
#include <ei.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "convoy/term.hpp"
#include "ei/identity.hpp"

namespace convoy {
namespace {

constexpr std::uint8_t kVersionMagic = 131;
constexpr std::uint8_t kCompressedTag = 'P';
constexpr std::uint8_t kOldFunTag = 'u';

// ei indexes its buffers with int; keep every single piece comfortably below that.
constexpr std::size_t kMaxPiece = static_cast<std::size_t>(INT_MAX) - 64;

// ---- encoding ----------------------------------------------------------------------------

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

// ---- validation --------------------------------------------------------------------------

class Invalid : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Validator {
 public:
  explicit Validator(std::span<const std::uint8_t> bytes)
      : b_(bytes.data()), limit_(std::min(bytes.size(), kMaxPiece)) {}

  // Returns the offset one past the term that starts at offset 1.
  std::size_t run() {
    pos_ = 1;
    stack_.push_back(Frame{1, 0, false});
    while (!stack_.empty()) {
      Frame& top = stack_.back();
      if (top.pending == 0) {
        if (top.end != 0 && pos_ != top.end) {
          fail("closure free variables do not fill its size field");
        }
        stack_.pop_back();
        continue;
      }
      --top.pending;
      // A list tail that is itself a LIST_EXT continues the same list: the decoder loops
      // over such chains, so they need not (and must not) count as nesting.
      if (top.pending == 0 && top.list_tail && need_peek() == ERL_LIST_EXT) stack_.pop_back();
      one();
      if (stack_.size() - 1 > kMaxDecodeDepth) {
        fail("nesting deeper than " + std::to_string(kMaxDecodeDepth));
      }
    }
    return pos_;
  }

 private:
  struct Frame {
    std::uint64_t pending;  // sub-terms still to read
    std::size_t end;        // for a closure: where its free variables must end; else 0
    bool list_tail;         // the last pending sub-term is a list tail
  };

  [[noreturn]] void fail(const std::string& what) const {
    throw Invalid(what + " (at byte " + std::to_string(pos_) + ")");
  }

  void need(std::size_t n) const {
    if (limit_ - pos_ < n) fail("truncated external term");
  }
  std::uint8_t need_peek() const {
    need(1);
    return b_[pos_];
  }
  std::uint8_t u8() {
    need(1);
    return b_[pos_++];
  }
  std::uint32_t u16() {
    need(2);
    const std::uint32_t v = (std::uint32_t{b_[pos_]} << 8) | b_[pos_ + 1];
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() {
    need(4);
    const std::uint32_t v = (std::uint32_t{b_[pos_]} << 24) | (std::uint32_t{b_[pos_ + 1]} << 16) |
                            (std::uint32_t{b_[pos_ + 2]} << 8) | b_[pos_ + 3];
    pos_ += 4;
    return v;
  }
  void skip(std::size_t n) {
    need(n);
    pos_ += n;
  }
  // Every sub-term takes at least one byte: refuse counts the input cannot back before
  // anything is sized from them.
  void plausible_count(std::uint64_t n) const {
    if (n > limit_ - pos_) fail("element count exceeds the bytes left");
  }

  void push(std::uint64_t pending, std::size_t end, bool list_tail) {
    stack_.push_back(Frame{pending, end, list_tail});
  }

  // `c_string`: ei hands this atom back NUL-terminated without a length (node names, fun
  // names), so an embedded NUL would silently truncate it.
  void atom(bool c_string) {
    const std::uint8_t tag = u8();
    std::size_t len = 0;
    bool utf8 = false;
    switch (tag) {
      case ERL_ATOM_EXT:
        len = u16();
        break;
      case ERL_SMALL_ATOM_EXT:
        len = u8();
        break;
      case ERL_ATOM_UTF8_EXT:
        len = u16();
        utf8 = true;
        break;
      case ERL_SMALL_ATOM_UTF8_EXT:
        len = u8();
        utf8 = true;
        break;
      default:
        fail("expected an atom");
    }
    // ei's atom buffers hold 255 Latin-1 or 255*4 UTF-8 bytes.
    if (len > (utf8 ? 255u * 4 : 255u)) fail("atom longer than 255 characters");
    need(len);
    if (c_string && std::memchr(b_ + pos_, 0, len) != nullptr) fail("NUL byte in a name");
    pos_ += len;
  }

  void small_or_int() {
    const std::uint8_t tag = u8();
    if (tag == ERL_SMALL_INTEGER_EXT) {
      skip(1);
    } else if (tag == ERL_INTEGER_EXT) {
      skip(4);
    } else {
      fail("expected a small integer");
    }
  }

  void pid() {
    const std::uint8_t tag = u8();
    if (tag != ERL_NEW_PID_EXT && tag != ERL_PID_EXT) fail("expected a pid");
    atom(true);
    skip(tag == ERL_NEW_PID_EXT ? 12 : 9);
  }

  void closure(std::size_t start) {
    const std::uint32_t size = u32();  // counts itself, not the tag
    const std::size_t end = start + 1 + size;
    // Size, arity, uniq, index, num_free: the smallest possible header.
    if (size < 4 + 1 + 16 + 4 + 4 || size > limit_ - start - 1) {
      fail("closure size field out of range");
    }
    // The fixed part must lie inside the closure's own size.
    const std::size_t saved_limit = limit_;
    limit_ = end;
    skip(1 + 16 + 4);  // arity, uniq, index
    const std::uint32_t num_free = u32();
    atom(true);      // module
    small_or_int();  // old index
    small_or_int();  // old uniq
    pid();
    limit_ = saved_limit;
    plausible_count(num_free);
    push(num_free, end, false);
  }

  // Reads one term's own bytes; compound terms push a frame for their sub-terms.
  void one() {
    const std::size_t start = pos_;
    const std::uint8_t tag = u8();
    switch (tag) {
      case ERL_SMALL_INTEGER_EXT:
        skip(1);
        return;
      case ERL_INTEGER_EXT:
        skip(4);
        return;
      case ERL_SMALL_BIG_EXT:
      case ERL_LARGE_BIG_EXT: {
        const std::size_t n = tag == ERL_SMALL_BIG_EXT ? u8() : u32();
        if (u8() > 1) fail("bignum sign byte is not 0 or 1");
        skip(n);
        return;
      }
      case NEW_FLOAT_EXT: {
        need(8);
        // All-ones exponent: inf or NaN, which Erlang never sends.
        if ((b_[pos_] & 0x7F) == 0x7F && (b_[pos_ + 1] & 0xF0) == 0xF0) fail("non-finite float");
        pos_ += 8;
        return;
      }
      case ERL_FLOAT_EXT:
        // ei sscanf()s this 31-byte text field; without a NUL inside, sscanf could run on.
        need(31);
        if (std::memchr(b_ + pos_, 0, 31) == nullptr) fail("unterminated FLOAT_EXT text");
        pos_ += 31;
        return;
      case ERL_ATOM_EXT:
      case ERL_SMALL_ATOM_EXT:
      case ERL_ATOM_UTF8_EXT:
      case ERL_SMALL_ATOM_UTF8_EXT:
        pos_ = start;
        atom(false);
        return;
      case ERL_NEW_PID_EXT:
      case ERL_PID_EXT:
        pos_ = start;
        pid();
        return;
      case ERL_PORT_EXT:
      case ERL_NEW_PORT_EXT:
      case ERL_V4_PORT_EXT:
        atom(true);
        skip(tag == ERL_PORT_EXT ? 5 : (tag == ERL_NEW_PORT_EXT ? 8 : 12));
        return;
      case ERL_REFERENCE_EXT:
        atom(true);
        skip(5);
        return;
      case ERL_NEW_REFERENCE_EXT:
      case ERL_NEWER_REFERENCE_EXT: {
        const std::size_t words = u16();
        if (words < 1 || words > 5) fail("reference with other than 1..5 id words");
        atom(true);
        skip((tag == ERL_NEW_REFERENCE_EXT ? 1 : 4) + 4 * words);
        return;
      }
      case ERL_NIL_EXT:
        return;
      case ERL_STRING_EXT:
        skip(u16());
        return;
      case ERL_LIST_EXT: {
        const std::uint32_t n = u32();
        plausible_count(std::uint64_t{n} + 1);
        push(std::uint64_t{n} + 1, 0, true);
        return;
      }
      case ERL_SMALL_TUPLE_EXT:
      case ERL_LARGE_TUPLE_EXT: {
        const std::uint32_t n = tag == ERL_SMALL_TUPLE_EXT ? u8() : u32();
        plausible_count(n);
        push(n, 0, false);
        return;
      }
      case ERL_MAP_EXT: {
        const std::uint64_t n = std::uint64_t{u32()} * 2;
        plausible_count(n);
        push(n, 0, false);
        return;
      }
      case ERL_BINARY_EXT:
        skip(u32());
        return;
      case ERL_BIT_BINARY_EXT: {
        const std::size_t n = u32();
        const std::uint8_t bits = u8();
        if (n == 0 ? bits != 0 : (bits < 1 || bits > 8)) fail("bad bitstring trailing bit count");
        skip(n);
        return;
      }
      case ERL_EXPORT_EXT:
        atom(true);
        atom(true);
        if (u8() != ERL_SMALL_INTEGER_EXT) fail("export fun arity is not a small integer");
        skip(1);
        return;
      case ERL_NEW_FUN_EXT:
        closure(start);
        return;
      case kOldFunTag:
        fail("FUN_EXT (pre-R8 fun) is not supported");
      case kCompressedTag:
        fail("compressed terms are not supported");
      default:
        fail("unknown tag " + std::to_string(tag));
    }
  }

  const std::uint8_t* b_;
  std::size_t limit_;
  std::size_t pos_ = 0;
  std::vector<Frame> stack_;
};

// ---- decoding ----------------------------------------------------------------------------

// Runs only over bytes validate() accepted, so the remaining failure paths are ei
// disagreeing with the validator; they still fail cleanly.
class Decoder {
 public:
  explicit Decoder(const char* buf) : buf_(buf) {}

  int index() const { return index_; }

  // Recursion depth is bounded by the validator's nesting limit; bulky ei structs live in
  // the noinline leaf readers so these recursive frames stay small.
  Term term() {
    int type = 0;
    int size = 0;
    check(ei_get_type(buf_, &index_, &type, &size));
    switch (type) {
      case ERL_SMALL_INTEGER_EXT:
      case ERL_INTEGER_EXT: {
        long long v = 0;
        check(ei_decode_longlong(buf_, &index_, &v));
        return Term::integer(std::int64_t{v});
      }
      case ERL_SMALL_BIG_EXT:
      case ERL_LARGE_BIG_EXT:
        return big(size);
      case ERL_FLOAT_EXT: {
        double v = 0;
        check(ei_decode_double(buf_, &index_, &v));
        return Term::float_(v);
      }
      case ERL_ATOM_EXT:
        return Term::atom(atom());
      case ERL_PID_EXT:
        return pid();
      case ERL_PORT_EXT:
        return port();
      case ERL_REFERENCE_EXT:
      case ERL_NEW_REFERENCE_EXT:
        return ref();
      case ERL_NIL_EXT: {
        int n = 0;
        check(ei_decode_list_header(buf_, &index_, &n));
        return Term::nil();
      }
      case ERL_STRING_EXT:
        return string(size);
      case ERL_LIST_EXT:
        return list();
      case ERL_SMALL_TUPLE_EXT:
      case ERL_LARGE_TUPLE_EXT:
        return tuple();
      case ERL_MAP_EXT:
        return map();
      case ERL_BINARY_EXT:
        return binary(size);
      case ERL_BIT_BINARY_EXT:
        return bitstring();
      case ERL_NEW_FUN_EXT:
      case ERL_EXPORT_EXT:
        return fun(type);
      default:
        throw Invalid("ei reports an unexpected term type");
    }
  }

 private:
  static void check(int rc) {
    if (rc < 0) throw Invalid("erl_interface rejected the term");
  }

  // Atom text, as UTF-8. ei NUL-terminates without returning a length, so work the length
  // out from the header: Latin-1 bytes >= 0x80 become two UTF-8 bytes.
  [[gnu::noinline]] std::string atom() {
    const auto* s = reinterpret_cast<const unsigned char*>(buf_) + index_;
    const bool small = s[0] == ERL_SMALL_ATOM_EXT || s[0] == ERL_SMALL_ATOM_UTF8_EXT;
    const bool utf8 = s[0] == ERL_ATOM_UTF8_EXT || s[0] == ERL_SMALL_ATOM_UTF8_EXT;
    const std::size_t len = small ? s[1] : (std::size_t{s[1]} << 8 | s[2]);
    const unsigned char* text = s + (small ? 2 : 3);
    std::size_t out_len = len;
    if (!utf8)
      out_len += static_cast<std::size_t>(
          std::count_if(text, text + len, [](unsigned char c) { return c >= 0x80; }));
    char out[MAXATOMLEN_UTF8];
    check(ei_decode_atom_as(buf_, &index_, out, sizeof out, ERLANG_UTF8, nullptr, nullptr));
    return std::string(out, out_len);
  }

  [[gnu::noinline]] Term big(int digit_bytes) {
    const auto n = static_cast<std::size_t>(digit_bytes);
    std::vector<unsigned short> digits(n / 2 + 1, 0);
    erlang_big b{};
    b.arity = static_cast<unsigned int>(n);
    b.digits = digits.data();
    check(ei_decode_big(buf_, &index_, &b));
    BigInt v;
    v.negative = b.is_neg != 0;
    v.magnitude.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      v.magnitude[i] = static_cast<std::uint8_t>(digits[i / 2] >> (8 * (i % 2)));
    }
    return Term::big(std::move(v));
  }

  [[gnu::noinline]] Term pid() {
    erlang_pid p{};
    check(ei_decode_pid(buf_, &index_, &p));
    return Term::pid(Pid{p.node, p.num, p.serial, p.creation});
  }

  [[gnu::noinline]] Term port() {
    erlang_port p{};
    check(ei_decode_port(buf_, &index_, &p));
    return Term::port(Port{p.node, p.id, p.creation});
  }

  [[gnu::noinline]] Term ref() {
    erlang_ref r{};
    check(ei_decode_ref(buf_, &index_, &r));
    if (r.len < 1 || r.len > 5) throw Invalid("reference with other than 1..5 id words");
    return Term::ref(Ref{r.node, r.creation, std::vector<std::uint32_t>(r.n, r.n + r.len)});
  }

  [[gnu::noinline]] Term fun(int type) {
    const int start = index_;
    erlang_fun f{};
    // ei may have allocated (free variables, a long function name) even when it fails.
    struct Release {
      erlang_fun* f;
      ~Release() { free_fun(f); }
    } release{&f};
    check(ei_decode_fun(buf_, &index_, &f));
    if (type == ERL_EXPORT_EXT) {
      if (f.arity < 0 || f.arity > 255) throw Invalid("export fun arity out of range");
      return Term::export_fun(
          ExportFun{f.module, f.u.exprt.func, static_cast<std::uint32_t>(f.arity)});
    }
    const auto* p = reinterpret_cast<const std::uint8_t*>(buf_);
    return Term::closure(Closure{f.module, static_cast<std::uint32_t>(f.arity),
                                 std::vector<std::uint8_t>(p + start, p + index_)});
  }

  [[gnu::noinline]] Term string(int len) {
    std::string s(static_cast<std::size_t>(len) + 1, '\0');
    check(ei_decode_string(buf_, &index_, s.data()));
    s.resize(static_cast<std::size_t>(len));
    return Term::string(s);
  }

  [[gnu::noinline]] Term binary(int len) {
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(len));
    std::uint8_t dummy = 0;  // ei memmove()s even zero bytes; give it a real address
    long got = 0;
    check(ei_decode_binary(buf_, &index_, bytes.empty() ? &dummy : bytes.data(), &got));
    if (got != len) throw Invalid("binary length mismatch");
    return Term::binary(std::move(bytes));
  }

  [[gnu::noinline]] Term bitstring() {
    const char* p = nullptr;
    unsigned int offset = 0;
    std::size_t nbits = 0;
    check(ei_decode_bitstring(buf_, &index_, &p, &offset, &nbits));
    if (offset != 0) throw Invalid("unexpected bit offset from ei");
    const auto* first = reinterpret_cast<const std::uint8_t*>(p);
    std::vector<std::uint8_t> bytes(first, first + (nbits + 7) / 8);
    const auto rest = static_cast<std::uint8_t>(nbits % 8);
    return Term::bitstring(std::move(bytes), rest == 0 ? 8 : rest);
  }

  Term tuple() {
    int n = 0;
    check(ei_decode_tuple_header(buf_, &index_, &n));
    std::vector<Term> elements;
    elements.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) elements.push_back(term());
    return Term::tuple(std::move(elements));
  }

  Term map() {
    int n = 0;
    check(ei_decode_map_header(buf_, &index_, &n));
    std::vector<std::pair<Term, Term>> entries;
    entries.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      Term k = term();
      Term v = term();
      entries.emplace_back(std::move(k), std::move(v));
    }
    return Term::map(std::move(entries));
  }

  // A LIST_EXT whose tail is another LIST_EXT is one longer list; gather the whole chain
  // here so neither the stack nor Term::list's splicing grows with its length.
  Term list() {
    std::vector<Term> elements;
    for (;;) {
      int n = 0;
      check(ei_decode_list_header(buf_, &index_, &n));
      if (elements.empty()) elements.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) elements.push_back(term());
      int type = 0;
      int size = 0;
      check(ei_get_type(buf_, &index_, &type, &size));
      if (type == ERL_LIST_EXT) continue;
      if (type == ERL_NIL_EXT) {
        check(ei_decode_list_header(buf_, &index_, &n));
        return Term::list(std::move(elements));
      }
      Term tail = term();
      return Term::list(std::move(elements), std::move(tail));
    }
  }

  const char* buf_;
  int index_ = 1;  // past the version byte
};

Error decode_error(const std::string& what) {
  return make_error(Errc::decode_error, "external term: " + what);
}

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

Result<Term> decode(std::span<const std::uint8_t> bytes, std::size_t* consumed) {
  ei::ensure_initialised();
  if (bytes.empty()) return decode_error("no bytes");
  if (bytes[0] != kVersionMagic) {
    return decode_error("missing version byte 131 (got " + std::to_string(bytes[0]) + ")");
  }
  try {
    const std::size_t end = Validator(bytes).run();
    Decoder d(reinterpret_cast<const char*>(bytes.data()));
    Term t = d.term();
    if (static_cast<std::size_t>(d.index()) != end) {
      return decode_error("erl_interface and the validator disagree on the term's length");
    }
    if (consumed != nullptr) *consumed = end;
    return t;
  } catch (const Invalid& e) {
    return decode_error(e.what());
  } catch (const std::invalid_argument& e) {
    // A Term constructor refused a value (bad UTF-8 atom, NaN...).
    return decode_error(e.what());
  } catch (const std::bad_alloc&) {
    return decode_error("out of memory");
  } catch (const std::exception& e) {
    return decode_error(e.what());
  }
}

}  // namespace convoy
