// validate(): the bounds-checked walk over external term format that decode() runs before
// any ei decoder sees the bytes. Errors are sticky: the first failure is recorded, every
// read after it fails fast without touching the bytes, and the walk stops.
#include <ei.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "convoy/term.hpp"
#include "ei/codec_internal.hpp"
#include "term/utf8.hpp"

namespace convoy::ei {
namespace {

constexpr std::uint8_t kCompressedTag = 'P';
constexpr std::uint8_t kOldFunTag = 'u';
constexpr std::size_t kMaxAtomChars = 255;
constexpr std::size_t kFloatTextLen = 31;

class Validator {
 public:
  Validator(std::span<const std::uint8_t> bytes, const DecodeLimits& limits)
      : b_(bytes.data()),
        limit_(std::min(bytes.size(), kMaxPiece)),
        max_depth_(std::min(limits.max_depth, kMaxDecodeDepth + kEnvelopeDepth)),
        max_bytes_(limits.max_bytes) {}

  // The offset one past the term that starts at offset 1.
  Result<std::size_t> run() {
    pos_ = 1;
    stack_.push_back(Frame{1, 0, false});
    while (!failed_ && !stack_.empty()) {
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
      if (top.pending == 0 && top.list_tail && peek() == ERL_LIST_EXT) stack_.pop_back();
      one();
      if (stack_.size() - 1 > max_depth_) {
        fail("nesting deeper than " + std::to_string(max_depth_));
      }
    }
    if (over_budget_) {
      return make_error(Errc::limit_exceeded,
                        fmt::format("external term: decoding it would take more than {} bytes "
                                    "of memory (the decode limit; {} bytes on the wire)",
                                    max_bytes_, limit_));
    }
    if (failed_) return decode_error(error_);
    return pos_;
  }

 private:
  struct Frame {
    std::uint64_t pending;  // sub-terms still to read
    std::size_t end;        // for a closure: where its free variables must end; else 0
    bool list_tail;         // the last pending sub-term is a list tail
  };

  // Records the first failure only; the walk loop stops at it.
  void fail(std::string_view what) {
    if (failed_) return;
    failed_ = true;
    error_ = std::string(what) + " (at byte " + std::to_string(pos_) + ")";
  }

  // Memory the decoded Term will take, counted before decode() allocates any of it.
  void charge(std::size_t bytes) {
    if (failed_) return;
    cost_ += bytes;
    if (cost_ > max_bytes_) {
      over_budget_ = true;
      fail("over the decode budget");
    }
  }
  // Heap text beyond std::string's in-place buffer.
  void charge_text(std::size_t len) {
    if (len > kInlineText) charge(len + 1);
  }

  // The primitive reads: after a failure they return 0 and do not move.
  bool need(std::size_t n) {
    if (failed_) return false;
    if (limit_ - pos_ < n) {
      fail("truncated external term");
      return false;
    }
    return true;
  }
  std::uint8_t peek() { return need(1) ? b_[pos_] : 0; }
  std::uint8_t u8() { return need(1) ? b_[pos_++] : 0; }
  std::uint32_t u16() {
    if (!need(2)) return 0;
    const std::uint32_t v = (std::uint32_t{b_[pos_]} << 8) | b_[pos_ + 1];
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    const std::uint32_t v = (std::uint32_t{b_[pos_]} << 24) | (std::uint32_t{b_[pos_ + 1]} << 16) |
                            (std::uint32_t{b_[pos_ + 2]} << 8) | b_[pos_ + 3];
    pos_ += 4;
    return v;
  }
  void skip(std::size_t n) {
    if (need(n)) pos_ += n;
  }

  // Queues `pending` sub-terms. Every sub-term takes at least one byte: refuse counts the
  // input cannot back before anything is sized from them.
  void push(std::uint64_t pending, std::size_t end, bool list_tail) {
    if (failed_) return;
    if (pending > limit_ - pos_) return fail("element count exceeds the bytes left");
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
        return fail("expected an atom");
    }
    // ei's atom buffers hold 255 Latin-1 or 255*4 UTF-8 bytes. Latin-1 text is one
    // character a byte and always converts to valid UTF-8; UTF-8 text ei copies unchecked.
    if (len > (utf8 ? kMaxAtomChars * 4 : kMaxAtomChars)) {
      return fail("atom longer than 255 characters");
    }
    if (!need(len)) return;
    charge_text(utf8 ? len : 2 * len);
    const std::uint8_t* text = b_ + pos_;
    if (c_string && std::memchr(text, 0, len) != nullptr) return fail("NUL byte in a name");
    if (utf8) {
      const std::ptrdiff_t chars =
          term::utf8_length(std::string_view(reinterpret_cast<const char*>(text), len));
      if (chars < 0) return fail("atom is not valid UTF-8");
      if (static_cast<std::size_t>(chars) > kMaxAtomChars) {
        return fail("atom longer than 255 characters");
      }
    }
    pos_ += len;
  }

  // FLOAT_EXT is printf("%.20e") text that ei reads back with sscanf("%lf").
  void float_text() {
    if (!need(kFloatTextLen)) return;
    // Without a NUL inside the field, sscanf could run on past it.
    if (std::memchr(b_ + pos_, 0, kFloatTextLen) == nullptr) {
      return fail("unterminated FLOAT_EXT text");
    }
    char text[kFloatTextLen];
    std::memcpy(text, b_ + pos_, kFloatTextLen);
    // strtod is the conversion sscanf("%lf") performs: "inf", "nan" and 1e999 all parse.
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text) return fail("FLOAT_EXT text is not a number");
    if (!std::isfinite(v)) return fail("non-finite float");
    pos_ += kFloatTextLen;
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
    if (tag != ERL_NEW_PID_EXT && tag != ERL_PID_EXT) return fail("expected a pid");
    atom(true);
    skip(tag == ERL_NEW_PID_EXT ? 12 : 9);
  }

  // NEW_FUN_EXT. Its arity is one byte, so never above 255; ei takes the free variables'
  // extent from the size field, so the walk checks that they fill it exactly.
  void closure(std::size_t start) {
    const std::uint32_t size = u32();  // counts itself, not the tag
    if (failed_) return;
    // Size, arity, uniq, index, num_free: the smallest possible header.
    if (size < 4 + 1 + 16 + 4 + 4 || size > limit_ - start - 1) {
      return fail("closure size field out of range");
    }
    const std::size_t end = start + 1 + size;
    charge(size);  // the closure keeps its encoding
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
    push(num_free, end, false);
  }

  // Reads one term's own bytes; compound terms push a frame for their sub-terms.
  void one() {
    const std::size_t start = pos_;
    const std::uint8_t tag = u8();
    charge(sizeof(Term));
    if (failed_) return;
    switch (tag) {
      case ERL_SMALL_INTEGER_EXT:
        return skip(1);
      case ERL_INTEGER_EXT:
        return skip(4);
      case ERL_SMALL_BIG_EXT:
      case ERL_LARGE_BIG_EXT: {
        const std::size_t n = tag == ERL_SMALL_BIG_EXT ? u8() : u32();
        if (u8() > 1) return fail("bignum sign byte is not 0 or 1");
        skip(n);
        return charge(n);
      }
      case NEW_FLOAT_EXT:
        if (!need(8)) return;
        // All-ones exponent: inf or NaN, which Erlang never sends.
        if ((b_[pos_] & 0x7F) == 0x7F && (b_[pos_ + 1] & 0xF0) == 0xF0) {
          return fail("non-finite float");
        }
        pos_ += 8;
        return;
      case ERL_FLOAT_EXT:
        return float_text();
      case ERL_ATOM_EXT:
      case ERL_SMALL_ATOM_EXT:
      case ERL_ATOM_UTF8_EXT:
      case ERL_SMALL_ATOM_UTF8_EXT:
        pos_ = start;
        return atom(false);
      case ERL_NEW_PID_EXT:
      case ERL_PID_EXT:
        pos_ = start;
        return pid();
      case ERL_PORT_EXT:
      case ERL_NEW_PORT_EXT:
      case ERL_V4_PORT_EXT:
        atom(true);
        return skip(tag == ERL_PORT_EXT ? 5 : (tag == ERL_NEW_PORT_EXT ? 8 : 12));
      case ERL_REFERENCE_EXT:
        atom(true);
        return skip(5);
      case ERL_NEW_REFERENCE_EXT:
      case ERL_NEWER_REFERENCE_EXT: {
        const std::size_t words = u16();
        if (words < 1 || words > 5) return fail("reference with other than 1..5 id words");
        charge(4 * words);
        atom(true);
        return skip((tag == ERL_NEW_REFERENCE_EXT ? 1 : 4) + 4 * words);
      }
      case ERL_NIL_EXT:
        return;
      case ERL_STRING_EXT: {
        const std::size_t n = u16();
        skip(n);
        return charge_text(n);
      }
      case ERL_LIST_EXT:
        charge(kListTail);
        return push(std::uint64_t{u32()} + 1, 0, true);
      case ERL_SMALL_TUPLE_EXT:
        return push(u8(), 0, false);
      case ERL_LARGE_TUPLE_EXT:
        return push(u32(), 0, false);
      case ERL_MAP_EXT:
        return push(std::uint64_t{u32()} * 2, 0, false);
      case ERL_BINARY_EXT: {
        const std::size_t n = u32();
        skip(n);
        return charge(n);
      }
      case ERL_BIT_BINARY_EXT: {
        const std::size_t n = u32();
        const std::uint8_t bits = u8();
        if (n == 0 ? bits != 0 : (bits < 1 || bits > 8)) {
          return fail("bad bitstring trailing bit count");
        }
        skip(n);
        return charge(n);
      }
      case ERL_EXPORT_EXT:
        atom(true);  // module
        atom(true);  // function
        // A SMALL_INTEGER_EXT arity is 0..255 by construction.
        if (u8() != ERL_SMALL_INTEGER_EXT) return fail("export fun arity is not a small integer");
        return skip(1);
      case ERL_NEW_FUN_EXT:
        return closure(start);
      case kOldFunTag:
        return fail("FUN_EXT (pre-R8 fun) is not supported");
      case kCompressedTag:
        return fail("compressed terms are not supported");
      default:
        return fail("unknown tag " + std::to_string(tag));
    }
  }

  // std::string keeps up to 15 bytes in place; a list's tail is a shared Term.
  static constexpr std::size_t kInlineText = 15;
  static constexpr std::size_t kListTail = sizeof(Term) + 16;

  const std::uint8_t* b_;
  std::size_t limit_;
  const std::size_t max_depth_;
  const std::size_t max_bytes_;
  std::size_t cost_ = 0;
  bool over_budget_ = false;
  std::size_t pos_ = 0;
  std::vector<Frame> stack_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace

Result<std::size_t> validate(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  return Validator(bytes, limits).run();
}

}  // namespace convoy::ei
