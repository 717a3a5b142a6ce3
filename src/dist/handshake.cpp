#include "dist/handshake.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "dist/byte_order.hpp"
#include "dist/digest.hpp"
#include "dist/dist_flags.hpp"

namespace convoy::dist {
namespace {

// Every handshake message travels as <<Length:16, Body/binary>>.
void put_message(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> body) {
  wire::put16(out, static_cast<std::uint16_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

void put_status(std::vector<std::uint8_t>& out, std::string_view status) {
  std::vector<std::uint8_t> body{'s'};
  body.insert(body.end(), status.begin(), status.end());
  put_message(out, body);
}

bool plausible_node_name(std::string_view name) {
  const auto at = name.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < name.size() &&
         name.find('@', at + 1) == std::string_view::npos &&
         std::none_of(name.begin(), name.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

std::string printable(std::span<const std::uint8_t> bytes) {
  std::string s;
  for (auto b : bytes.first(std::min<std::size_t>(bytes.size(), 40))) {
    s += (b >= 0x20 && b < 0x7f) ? static_cast<char>(b) : '?';
  }
  return s;
}

}  // namespace

Handshake::Handshake(bool initiator, HandshakeParams params, Random random)
    : initiator_(initiator),
      params_(std::move(params)),
      random_(std::move(random)),
      step_(initiator ? Step::send_name : Step::recv_name) {}

Handshake Handshake::initiator(HandshakeParams params, std::string expected_peer, Random random) {
  Handshake h(true, std::move(params), std::move(random));
  h.peer_.name = std::move(expected_peer);
  return h;
}

Handshake Handshake::acceptor(HandshakeParams params, Random random, Admit admit) {
  Handshake h(false, std::move(params), std::move(random));
  h.admit_ = std::move(admit);
  return h;
}

void Handshake::start(std::vector<std::uint8_t>& out) {
  if (!initiator_ || step_ != Step::send_name) return;
  // send_name: <<$N, Flags:64, Creation:32, NameLen:16, Name>>
  std::vector<std::uint8_t> body{'N'};
  wire::put64(body, params_.flags);
  wire::put32(body, params_.creation);
  wire::put16(body, static_cast<std::uint16_t>(params_.local_name.size()));
  body.insert(body.end(), params_.local_name.begin(), params_.local_name.end());
  put_message(out, body);
  step_ = Step::recv_status;
}

Handshake::State Handshake::feed(std::span<const std::uint8_t> in, std::size_t& consumed,
                                 std::vector<std::uint8_t>& out) {
  consumed = 0;
  while (state_ == State::in_progress && in.size() - consumed >= 2) {
    const std::size_t len = wire::get16(in.data() + consumed);
    if (len == 0 || len > kMaxMessage) {
      fail(Errc::handshake_failed, fmt::format("handshake message of {} bytes", len));
      break;
    }
    if (in.size() - consumed < 2 + len) {
      break;  // incomplete: wait for more bytes
    }
    on_message(in.subspan(consumed + 2, len), out);
    consumed += 2 + len;
  }
  return state_;
}

void Handshake::on_message(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out) {
  switch (step_) {
    case Step::recv_status:
      return recv_status(msg, out);
    case Step::recv_challenge:
      return recv_challenge(msg, out);
    case Step::recv_challenge_ack:
      return recv_challenge_ack(msg);
    case Step::recv_name:
      return recv_name(msg, out);
    case Step::recv_alive_reply:
      return recv_alive_reply(msg, out);
    case Step::recv_challenge_reply:
      return recv_challenge_reply(msg, out);
    case Step::send_name:
    case Step::finished:
      return fail(Errc::handshake_failed, "unexpected handshake message");
  }
}

// --- initiator ----------------------------------------------------------------------------

void Handshake::recv_status(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out) {
  if (msg[0] != 's') {
    return fail(Errc::handshake_failed,
                fmt::format("expected status from {}, got '{}'", peer_.name, printable(msg)));
  }
  const std::string status(msg.begin() + 1, msg.end());
  if (status == "ok" || status == "ok_simultaneous") {
    step_ = Step::recv_challenge;
  } else if (status == "alive") {
    // The peer still holds an older link to our name (we restarted): ask it to replace it.
    put_status(out, "true");
    step_ = Step::recv_challenge;
  } else {
    // "nok": the peer is dialling us too and its name is greater, so its link will be the
    // one (dist_util waits to be replaced in that case; Node does the same).
    lost_simultaneous_ = status == "nok";
    fail(Errc::handshake_failed,
         fmt::format("{} refused the connection: {}", peer_.name, printable(msg.subspan(1))));
  }
}

void Handshake::recv_challenge(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out) {
  // <<$N, Flags:64, Challenge:32, Creation:32, NameLen:16, Name>>
  constexpr std::size_t kFixed = 1 + 8 + 4 + 4 + 2;
  if (msg[0] != 'N' || msg.size() < kFixed) {
    return fail(Errc::handshake_failed,
                fmt::format("malformed challenge from {} ({} bytes)", peer_.name, msg.size()));
  }
  const auto flags = expand_mandatory(wire::get64(&msg[1]));
  const auto challenge = wire::get32(&msg[9]);
  const auto creation = wire::get32(&msg[13]);
  const std::size_t name_len = wire::get16(&msg[17]);
  if (msg.size() != kFixed + name_len) {
    return fail(Errc::handshake_failed,
                fmt::format("challenge from {} has a bad name length", peer_.name));
  }
  const std::string name(msg.begin() + kFixed, msg.end());
  if (name != peer_.name) {
    return fail(Errc::handshake_failed,
                fmt::format("dialled {} but the peer calls itself {}", peer_.name, name));
  }
  if (!check_peer_flags(flags)) return;
  peer_.flags = flags;
  peer_.creation = creation;
  our_challenge_ = random_();
  // challenge_reply: <<$r, OurChallenge:32, Digest(TheirChallenge)/binary>>
  std::vector<std::uint8_t> body{'r'};
  wire::put32(body, our_challenge_);
  const auto digest = gen_digest(challenge, params_.cookie);
  body.insert(body.end(), digest.begin(), digest.end());
  put_message(out, body);
  step_ = Step::recv_challenge_ack;
}

void Handshake::recv_challenge_ack(std::span<const std::uint8_t> msg) {
  if (msg[0] != 'a' || msg.size() != 17) {
    return fail(Errc::handshake_failed, fmt::format("malformed challenge ack from {}", peer_.name));
  }
  if (!digest_equal(gen_digest(our_challenge_, params_.cookie), &msg[1])) {
    return fail(
        Errc::bad_cookie,
        fmt::format("{} answered our challenge with a wrong digest (cookie mismatch)", peer_.name));
  }
  step_ = Step::finished;
  state_ = State::done;
}

// --- acceptor -----------------------------------------------------------------------------

void Handshake::recv_name(std::span<const std::uint8_t> msg, std::vector<std::uint8_t>& out) {
  // <<$N, Flags:64, Creation:32, NameLen:16, Name>>; the pre-OTP-23 'n' form is not spoken.
  constexpr std::size_t kFixed = 1 + 8 + 4 + 2;
  if (msg[0] == 'n') {
    put_status(out, "not_allowed");
    return fail(Errc::handshake_failed,
                "peer speaks the pre-OTP-23 handshake (version 5); OTP 23 or later is required");
  }
  if (msg[0] != 'N' || msg.size() < kFixed) {
    return fail(Errc::handshake_failed,
                fmt::format("malformed name message ({} bytes)", msg.size()));
  }
  const auto flags = expand_mandatory(wire::get64(&msg[1]));
  const auto creation = wire::get32(&msg[9]);
  const std::size_t name_len = wire::get16(&msg[13]);
  if (msg.size() != kFixed + name_len) {
    return fail(Errc::handshake_failed, "name message has a bad name length");
  }
  std::string name(msg.begin() + kFixed, msg.end());
  if (!plausible_node_name(name)) {
    return fail(Errc::handshake_failed,
                fmt::format("peer sent an invalid node name '{}'", printable(msg.subspan(kFixed))));
  }
  peer_.name = std::move(name);
  if (!check_peer_flags(flags)) return;
  peer_.flags = flags;
  peer_.creation = creation;
  const std::string status = admit_ ? admit_(peer_.name) : "ok";
  put_status(out, status);
  if (status == "alive") {
    // We hold a link to that name already: the peer says whether it wants it replaced.
    step_ = Step::recv_alive_reply;
    return;
  }
  if (status != "ok" && status != "ok_simultaneous") {
    return fail(Errc::handshake_failed,
                fmt::format("refused connection from {}: {}", peer_.name, status));
  }
  send_challenge(out);
}

void Handshake::recv_alive_reply(std::span<const std::uint8_t> msg,
                                 std::vector<std::uint8_t>& out) {
  const std::string reply(msg.begin(), msg.end());
  if (reply == "strue") return send_challenge(out);
  if (reply == "sfalse") {
    return fail(Errc::handshake_failed,
                fmt::format("{} keeps its existing link (answered alive with false)", peer_.name));
  }
  fail(Errc::handshake_failed,
       fmt::format("malformed answer to alive from {}: '{}'", peer_.name, printable(msg)));
}

void Handshake::send_challenge(std::vector<std::uint8_t>& out) {
  our_challenge_ = random_();
  // challenge: <<$N, Flags:64, Challenge:32, Creation:32, NameLen:16, Name>>
  std::vector<std::uint8_t> body{'N'};
  wire::put64(body, params_.flags);
  wire::put32(body, our_challenge_);
  wire::put32(body, params_.creation);
  wire::put16(body, static_cast<std::uint16_t>(params_.local_name.size()));
  body.insert(body.end(), params_.local_name.begin(), params_.local_name.end());
  put_message(out, body);
  step_ = Step::recv_challenge_reply;
}

void Handshake::recv_challenge_reply(std::span<const std::uint8_t> msg,
                                     std::vector<std::uint8_t>& out) {
  // <<$r, TheirChallenge:32, Digest(OurChallenge)/binary>>
  if (msg[0] != 'r' || msg.size() != 21) {
    return fail(Errc::handshake_failed,
                fmt::format("malformed challenge reply from {}", peer_.name));
  }
  if (!digest_equal(gen_digest(our_challenge_, params_.cookie), &msg[5])) {
    return fail(Errc::bad_cookie,
                fmt::format("connection from {} rejected: wrong cookie digest", peer_.name));
  }
  const auto their_challenge = wire::get32(&msg[1]);
  std::vector<std::uint8_t> body{'a'};
  const auto digest = gen_digest(their_challenge, params_.cookie);
  body.insert(body.end(), digest.begin(), digest.end());
  put_message(out, body);
  step_ = Step::finished;
  state_ = State::done;
}

bool Handshake::check_peer_flags(std::uint64_t flags) {
  const std::uint64_t missing = kMandatory25 & ~flags;
  if (missing != 0) {
    fail(Errc::handshake_failed,
         fmt::format("peer {} lacks mandatory distribution flags {:#x}", peer_.name, missing));
    return false;
  }
  return true;
}

void Handshake::fail(Errc code, std::string message) {
  state_ = State::failed;
  step_ = Step::finished;
  error_ = make_error(code, std::move(message));
}

}  // namespace convoy::dist
