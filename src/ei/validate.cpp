// validate(): the bounds-checked walk over external term format that decode() runs before
// any ei decoder sees the bytes.
#include <ei.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "convoy/term.hpp"
#include "ei/codec_internal.hpp"

namespace convoy::ei {
namespace {

constexpr std::uint8_t kCompressedTag = 'P';
constexpr std::uint8_t kOldFunTag = 'u';

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

}  // namespace

std::size_t validate(std::span<const std::uint8_t> bytes) { return Validator(bytes).run(); }

}  // namespace convoy::ei
