#pragma once
// Distribution control messages as typed values (erts "Distribution Protocol", "Protocol
// between connected nodes"). decode_frame() is the one place where op codes, arities and
// field types of what a peer sends are checked: a malformed control message is a typed
// error (ControlErrc), never an exception or a positional lookup further up. encode()
// writes what the node sends. The pass-through byte belongs to Connection, not here.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "convoy/result.hpp"
#include "convoy/term.hpp"
#include "term/printed.hpp"

namespace convoy::dist {

namespace op {
inline constexpr std::int64_t kLink = 1;
inline constexpr std::int64_t kSend = 2;
inline constexpr std::int64_t kExit = 3;
inline constexpr std::int64_t kUnlink = 4;
inline constexpr std::int64_t kRegSend = 6;
inline constexpr std::int64_t kGroupLeader = 7;
inline constexpr std::int64_t kExit2 = 8;
inline constexpr std::int64_t kSendTT = 12;
inline constexpr std::int64_t kExitTT = 13;
inline constexpr std::int64_t kRegSendTT = 16;
inline constexpr std::int64_t kExit2TT = 18;
inline constexpr std::int64_t kMonitorP = 19;
inline constexpr std::int64_t kDemonitorP = 20;
inline constexpr std::int64_t kMonitorPExit = 21;
inline constexpr std::int64_t kSendSender = 22;
inline constexpr std::int64_t kSendSenderTT = 23;
inline constexpr std::int64_t kPayloadExit = 24;
inline constexpr std::int64_t kPayloadExitTT = 25;
inline constexpr std::int64_t kPayloadExit2 = 26;
inline constexpr std::int64_t kPayloadExit2TT = 27;
inline constexpr std::int64_t kPayloadMonitorPExit = 28;
inline constexpr std::int64_t kSpawnRequest = 29;
inline constexpr std::int64_t kSpawnRequestTT = 30;
inline constexpr std::int64_t kSpawnReply = 31;
inline constexpr std::int64_t kSpawnReplyTT = 32;
inline constexpr std::int64_t kAliasSend = 33;
inline constexpr std::int64_t kAliasSendTT = 34;
inline constexpr std::int64_t kUnlinkId = 35;
inline constexpr std::int64_t kUnlinkIdAck = 36;
}  // namespace op

// {1, From, To}
struct Link {
  Pid from, to;
  friend bool operator==(const Link&, const Link&) = default;
};
// {2, '', To} | {12, '', To, Token} | {22, From, To} | {23, From, To, Token}; payload: message
struct Send {
  Pid to;
  std::optional<Pid> from;  // SEND_SENDER carries it
  std::optional<Term> token;
  friend bool operator==(const Send&, const Send&) = default;
};
// {6, From, '', ToName} | {16, From, '', ToName, Token}; payload: message
struct RegSend {
  Pid from;
  std::string to_name;
  std::optional<Term> token;
  friend bool operator==(const RegSend&, const RegSend&) = default;
};
// {3, From, To, Reason} | {13, From, To, Token, Reason}: a linked process ended
struct Exit {
  Pid from, to;
  Term reason;
  std::optional<Term> token;
  friend bool operator==(const Exit&, const Exit&) = default;
};
// {8, From, To, Reason} | {18, From, To, Token, Reason}: erlang:exit/2
struct Exit2 {
  Pid from, to;
  Term reason;
  std::optional<Term> token;
  friend bool operator==(const Exit2&, const Exit2&) = default;
};
// {4, From, To}: the pre-UNLINK_ID unlink of older peers
struct Unlink {
  Pid from, to;
  friend bool operator==(const Unlink&, const Unlink&) = default;
};
// {35, Id, From, To}
struct UnlinkId {
  Term id;  // an integer; echoed back as it came
  Pid from, to;
  friend bool operator==(const UnlinkId&, const UnlinkId&) = default;
};
// {36, Id, From, To}
struct UnlinkIdAck {
  Term id;
  Pid from, to;
  friend bool operator==(const UnlinkIdAck&, const UnlinkIdAck&) = default;
};
// {7, From, To}
struct GroupLeader {
  Pid from, to;
  friend bool operator==(const GroupLeader&, const GroupLeader&) = default;
};
// {19, FromPid, ToProc, Ref}: ToProc is a pid or a registered name (atom)
struct MonitorP {
  Pid from;
  Term to;
  Ref ref;
  friend bool operator==(const MonitorP&, const MonitorP&) = default;
};
// {20, FromPid, ToProc, Ref}
struct DemonitorP {
  Pid from;
  Term to;
  Ref ref;
  friend bool operator==(const DemonitorP&, const DemonitorP&) = default;
};
// {21, FromProc, ToPid, Ref, Reason}: FromProc as the monitor named it (pid or atom)
struct MonitorPExit {
  Term from;
  Pid to;
  Ref ref;
  Term reason;
  friend bool operator==(const MonitorPExit&, const MonitorPExit&) = default;
};
// {29, ReqId, From, GroupLeader, {M, F, A}, Opts} | {30, ..., Token}; payload: the argument list
struct SpawnRequest {
  Ref req_id;
  Pid from;
  Pid group_leader;
  std::string module, function;
  std::int64_t arity = 0;
  std::vector<Term> options;
  std::optional<Term> token;
  friend bool operator==(const SpawnRequest&, const SpawnRequest&) = default;
};
// {31, ReqId, To, Flags, Result} | {32, ..., Token}: Result is the new pid or an error atom
struct SpawnReply {
  Ref req_id;
  Pid to;
  std::int64_t flags = 0;  // 1: linked, 2: monitored
  Term result;
  std::optional<Term> token;
  friend bool operator==(const SpawnReply&, const SpawnReply&) = default;
};

using ControlMessage =
    std::variant<Link, Send, RegSend, Exit, Exit2, Unlink, UnlinkId, UnlinkIdAck, GroupLeader,
                 MonitorP, DemonitorP, MonitorPExit, SpawnRequest, SpawnReply>;

// One decoded data frame: the control message and, for the ops that carry one, the payload.
struct Frame {
  ControlMessage control;
  std::optional<Term> payload;
  friend bool operator==(const Frame&, const Frame&) = default;
};

enum class ControlErrc {
  undecodable = 1,     // the bytes are not an external term
  not_a_tuple,         // the control message is not a tuple with an integer op first
  unknown_op,          // an op code the protocol does not define
  unsupported_op,      // defined, but for a capability we do not advertise
  bad_arity,           // the op's tuple has the wrong number of elements
  bad_field,           // an element has the wrong type
  missing_payload,     // SEND / REG_SEND / SPAWN_REQUEST without one
  unexpected_payload,  // a payload after an op that takes none
  trailing_bytes,      // bytes after the last term
};
const std::error_category& control_category() noexcept;
inline std::error_code make_error_code(ControlErrc e) noexcept {
  return {static_cast<int>(e), control_category()};
}

// `body` is a data frame after its pass-through byte: control term, optional payload term.
// The payload is decoded within `payload_limits` (and kEnvelopeDepth more levels than a bare
// term); a frame over them fails with Errc::limit_exceeded.
Result<Frame> decode_frame(std::span<const std::uint8_t> body,
                           const DecodeLimits& payload_limits = {});
// Checks one control message term (the part of decode_frame after term decoding).
Result<ControlMessage> from_term(const Term& control);

Term to_term(const ControlMessage& m);
std::int64_t op_of(const ControlMessage& m);
// The process the message says it comes from (nullptr if it names none: a plain SEND, a
// MONITOR_P_EXIT for a monitor by name, a SPAWN_REPLY). A link may only speak for its own
// node's processes.
const Pid* sender(const ControlMessage& m);
// Appends the control message's external encoding (and the payload's, if given).
void encode(const ControlMessage& m, std::vector<std::uint8_t>& out, const Term* payload = nullptr);
std::string to_string(const ControlMessage& m);
std::string to_string(const ControlMessage& m, std::size_t max_chars);
// For log lines: printed only if the line is written, cut at kLogTermChars.
struct PrintedControl {
  const ControlMessage& message;
};
inline PrintedControl printed(const ControlMessage& m) { return {m}; }

}  // namespace convoy::dist

template <>
struct std::is_error_code_enum<convoy::dist::ControlErrc> : std::true_type {};

template <>
struct fmt::formatter<convoy::dist::PrintedControl> : fmt::formatter<std::string_view> {
  auto format(const convoy::dist::PrintedControl& p, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(
        convoy::dist::to_string(p.message, convoy::kLogTermChars), ctx);
  }
};
