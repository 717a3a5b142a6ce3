#pragma once
// RawPeer: a blocking TCP client on 127.0.0.1 that speaks just enough of the distribution
// protocol to misbehave precisely — stop mid-handshake, claim another node's name, send
// hand-made frames — so tests can play an attacker or a slow peer against a Node.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "convoy/term.hpp"
#include "dist/control.hpp"
#include "dist/handshake.hpp"

namespace convoy::test {

using Bytes = std::vector<std::uint8_t>;

class RawPeer {
 public:
  explicit RawPeer(std::uint16_t port,
                   std::chrono::milliseconds read_timeout = std::chrono::milliseconds(5000));
  ~RawPeer();
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  bool connected() const { return connected_; }
  // Writes all of `b`; false if the socket refused (the node closed it) or, after
  // set_send_timeout(), if the node did not take it in time.
  bool write(const Bytes& b);
  void set_send_timeout(std::chrono::milliseconds limit);

  // Runs our own initiator state machine over the socket; true once the link is up.
  bool handshake(const std::string& self, const std::string& peer, const std::string& cookie);
  // The same, in two halves: begin() sends the name and reads up to the node's challenge,
  // keeping the challenge reply unsent; finish() sends it and waits for the ack. Between
  // them the node holds an inbound handshake for `self` that has not proven the cookie.
  // begin() returns the status the node sent ("ok", "alive", ...; "" if none came).
  std::string handshake_begin(const std::string& self, const std::string& peer,
                              const std::string& cookie);
  bool handshake_finish();

  // One handshake message (<<Len:16, Body>>) read from the socket; nullopt on timeout/EOF.
  std::optional<Bytes> read_handshake_message();
  // Reads frames until one that is not a tick arrives (its body), or nullopt on timeout.
  std::optional<Bytes> read_frame();
  // read_frame(), checked for the pass-through byte and decoded as a typed control message
  // with its payload; nullopt on timeout or on a frame that does not decode.
  std::optional<dist::Frame> read_message();
  // True if the node closed the connection within `limit` (EOF or reset on read).
  bool wait_closed(std::chrono::milliseconds limit);

  // <<Len:32, Body>>
  static Bytes frame(const Bytes& body);
  // A handshake message: <<Len:16, Body>>.
  static Bytes handshake_message(const Bytes& body);
  // The initiator's 'N' name message with our flags.
  static Bytes name_message(const std::string& self, std::uint32_t creation = 5);
  // A data frame: pass-through byte, control message, optional payload.
  static Bytes control_frame(const Term& control, const Term* payload = nullptr);

 private:
  bool read_more();

  int fd_ = -1;
  bool connected_ = false;
  Bytes in_;
  std::optional<dist::Handshake> hs_;
  Bytes pending_out_;
};

// A TCP listener on 127.0.0.1 that never accepts: connections to it complete in the
// kernel's backlog and then hear nothing, like a peer that hangs mid-handshake.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  std::uint16_t port() const { return port_; }
  // Connections accepted (drained from the backlog) so far: how often a node dialled us.
  int accept_all();

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> accepted_;
};

}  // namespace convoy::test
