#pragma once
// The OTP 23+ distribution handshake (protocol version 6, 'N' messages, MD5 digest) as a pure
// state machine: bytes in, bytes out. No sockets and no clock, so every path — good, refused,
// truncated, oversized — is testable with scripted bytes. Timeouts belong to Connection.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "convoy/result.hpp"

namespace convoy::dist {

struct HandshakeParams {
  std::string local_name;  // full node name, "alive@host"
  std::string cookie;
  std::uint64_t flags = 0;  // capabilities we advertise
  std::uint32_t creation = 0;
};

struct PeerInfo {
  std::string name;
  std::uint64_t flags = 0;  // with MANDATORY_25_DIGEST expanded
  std::uint32_t creation = 0;
};

class Handshake {
 public:
  enum class State { in_progress, done, failed };
  using Random = std::function<std::uint32_t()>;
  // Acceptor side: decides the status sent back for a peer name: "ok", "ok_simultaneous",
  // "nok", "not_allowed" or "alive" (we already have a link to that name; the handshake
  // then waits for the peer's "true" and goes on to the challenge).
  using Admit = std::function<std::string(const std::string& peer_name)>;

  // Largest handshake message we accept: the biggest legal 'N' message (a 255-character
  // UTF-8 atom) with room to spare. Anything bigger is an attack or garbage.
  static constexpr std::size_t kMaxMessage = 2048;

  static Handshake initiator(HandshakeParams params, std::string expected_peer, Random random);
  static Handshake acceptor(HandshakeParams params, Random random, Admit admit);

  // Appends the opening message (initiator: send_name; acceptor: nothing).
  void start(std::vector<std::uint8_t>& out);
  // Consumes every complete handshake message at the front of `in`, appending replies to
  // `out`. `consumed` receives the bytes used; bytes after the final message belong to the
  // framing layer and are left alone.
  State feed(std::span<const std::uint8_t> in, std::size_t& consumed,
             std::vector<std::uint8_t>& out);

  State state() const noexcept { return state_; }
  const Error& error() const noexcept { return error_; }
  const PeerInfo& peer() const noexcept { return peer_; }
  bool is_initiator() const noexcept { return initiator_; }
  // Initiator: the peer answered "nok" — both sides dialled and the peer's own dial wins.
  bool lost_simultaneous() const noexcept { return lost_simultaneous_; }
  // Initiator: our challenge reply is sent and its ack awaited. A peer that closes now
  // refused our digest (OTP says nothing, it just closes): the cookies differ.
  bool awaits_challenge_ack() const noexcept { return step_ == Step::recv_challenge_ack; }
  // The name the peer claimed (acceptor) or that we dialled (initiator); "" before known.
  const std::string& peer_name() const noexcept { return peer_.name; }

 private:
  enum class Step {
    // initiator
    send_name,
    recv_status,
    recv_challenge,
    recv_challenge_ack,
    // acceptor
    recv_name,
    recv_alive_reply,  // after answering `alive`: the peer's "true" or "false"
    recv_challenge_reply,
    finished
  };
  Handshake(bool initiator, HandshakeParams params, Random random);

  void on_message(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out);
  void recv_status(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out);
  void recv_challenge(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out);
  void recv_challenge_ack(std::span<const std::uint8_t> msg);
  void recv_name(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out);
  void recv_alive_reply(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out);
  void send_challenge(std::vector<std::uint8_t>& out);
  void recv_challenge_reply(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out);
  bool check_peer_flags(std::uint64_t flags);
  void fail(Errc code, std::string message);

  bool initiator_;
  HandshakeParams params_;
  Random random_;
  Admit admit_;
  Step step_;
  State state_ = State::in_progress;
  Error error_;
  PeerInfo peer_;
  std::uint32_t our_challenge_ = 0;
  bool lost_simultaneous_ = false;
};

}  // namespace convoy::dist
