#pragma once
// Distribution capability flags (erts "Distribution Protocol", kernel/include/dist.hrl).
#include <cstdint>

namespace convoy::dist {

inline constexpr std::uint64_t kPublished = 0x01;
inline constexpr std::uint64_t kExtendedReferences = 0x04;
inline constexpr std::uint64_t kDistMonitor = 0x08;
inline constexpr std::uint64_t kFunTags = 0x10;
inline constexpr std::uint64_t kDistMonitorName = 0x20;
inline constexpr std::uint64_t kNewFunTags = 0x80;
inline constexpr std::uint64_t kExtendedPidsPorts = 0x100;
inline constexpr std::uint64_t kExportPtrTag = 0x200;
inline constexpr std::uint64_t kBitBinaries = 0x400;
inline constexpr std::uint64_t kNewFloats = 0x800;
inline constexpr std::uint64_t kUtf8Atoms = 0x10000;
inline constexpr std::uint64_t kMapTag = 0x20000;
inline constexpr std::uint64_t kBigCreation = 0x40000;
inline constexpr std::uint64_t kHandshake23 = 0x1000000;
inline constexpr std::uint64_t kUnlinkId = 0x2000000;
inline constexpr std::uint64_t kMandatory25Digest = 0x4000000;
inline constexpr std::uint64_t kSpawn = 1ULL << 32;
inline constexpr std::uint64_t kV4Nc = 4ULL << 32;

// What OTP 25 requires of every peer; kMandatory25Digest stands for all of them.
inline constexpr std::uint64_t kMandatory25 =
    kExtendedReferences | kFunTags | kExtendedPidsPorts | kNewFunTags | kExportPtrTag |
    kBitBinaries | kNewFloats | kUtf8Atoms | kMapTag | kBigCreation | kHandshake23;

// Exactly what this implementation handles. Terms of every mandatory type go through ei;
// V4_NC's wide pids/ports/refs are modelled by Term; monitors by pid and by name, links
// with UNLINK_ID, and spawn requests (how OTP 23+ runs rpc/erpc) are served.
// Not advertised: ALIAS, atom caches, fragments, SEND_SENDER, EXIT_PAYLOAD.
inline constexpr std::uint64_t kOurFlags = kMandatory25 | kMandatory25Digest | kUnlinkId | kV4Nc |
                                           kDistMonitor | kDistMonitorName | kSpawn;

inline constexpr std::uint64_t expand_mandatory(std::uint64_t flags) {
  return (flags & kMandatory25Digest) ? (flags | kMandatory25) : flags;
}

}  // namespace convoy::dist
