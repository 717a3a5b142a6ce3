#pragma once
// Distribution control message operation codes (erts "Distribution Protocol").
#include <cstdint>

namespace convoy::dist::op {

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

}  // namespace convoy::dist::op
