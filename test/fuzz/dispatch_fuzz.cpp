// libFuzzer target: the whole path a connected peer's bytes take — frame, control message,
// dispatch to the process and link tables, the built-in services — on a real node over a
// local transport. Each input is one data frame body sent on an authenticated link (set up
// again when a frame made the node close it); the loop then runs until it is quiet. A crash,
// a sanitizer report or a node that stops answering is a finding.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "convoy/node.hpp"
#include "convoy/services.hpp"
#include "convoy/transport.hpp"
#include "dist/byte_order.hpp"
#include "dist/dist_flags.hpp"
#include "dist/handshake.hpp"

namespace {

using convoy::IoResult;

constexpr const char* kCookie = "fuzz-cookie";
constexpr const char* kPeer = "peer-2@127.0.0.1";

struct Harness {
  std::shared_ptr<convoy::Transport> transport = convoy::local_transport();
  std::unique_ptr<convoy::Node> node;
  std::unique_ptr<convoy::Socket> link;

  Harness() {
    convoy::NodeOptions o{.name = *convoy::NodeName::parse("target-4370@127.0.0.1"),
                          .cookie = kCookie};
    o.transport = transport;
    node = std::move(convoy::Node::start(std::move(o)).value());
    if (!convoy::install_builtin_services(*node)) std::abort();
  }

  // One turn of the node's loop that does not wait for a timeout: a posted task wakes it.
  void pump() {
    bool turned = false;
    node->post([&turned](convoy::Node&) { turned = true; });
    node->run_until([&] { return turned; }, std::chrono::milliseconds(100));
  }

  // Writes everything, running the node meanwhile; false if the link is gone.
  bool write_all(std::span<const std::uint8_t> bytes) {
    for (int turns = 0; !bytes.empty() && turns < 1000; ++turns) {
      const IoResult r = link->write(bytes);
      if (r.status == IoResult::Status::ok) {
        bytes = bytes.subspan(r.bytes);
      } else if (r.status != IoResult::Status::would_block) {
        return false;
      }
      pump();
    }
    return bytes.empty();
  }

  // Reads what the node sent; false once it closed the link.
  bool drain() {
    std::uint8_t buf[65536];
    for (;;) {
      const IoResult r = link->read(buf);
      if (r.status == IoResult::Status::ok) continue;
      return r.status == IoResult::Status::would_block;
    }
  }

  bool connect() {
    auto sock = transport->connect("127.0.0.1", node->name().port());
    if (!sock) return false;
    link = std::move(*sock);
    auto hs = convoy::dist::Handshake::initiator({kPeer, kCookie, convoy::dist::kOurFlags, 9},
                                                 node->name().str(), [] { return 7u; });
    std::vector<std::uint8_t> out, in;
    hs.start(out);
    for (int turns = 0; turns < 200; ++turns) {
      if (!out.empty()) {
        if (!write_all(out)) return false;
        out.clear();
      }
      pump();
      std::uint8_t buf[4096];
      const IoResult r = link->read(buf);
      if (r.status == IoResult::Status::ok) in.insert(in.end(), buf, buf + r.bytes);
      if (r.status == IoResult::Status::eof || r.status == IoResult::Status::error) return false;
      std::size_t used = 0;
      const auto st = hs.feed(in, used, out);
      in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(used));
      if (st == convoy::dist::Handshake::State::done) return out.empty() || write_all(out);
      if (st == convoy::dist::Handshake::State::failed) return false;
    }
    return false;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness h;
  if (!h.link && !h.connect()) std::abort();  // the node must always take a good peer
  std::vector<std::uint8_t> frame;
  convoy::wire::put32(frame, static_cast<std::uint32_t>(size + 1));
  frame.push_back(112);  // pass-through
  frame.insert(frame.end(), data, data + size);
  const bool alive = h.write_all(frame);
  for (int k = 0; k < 5; ++k) h.pump();
  if (!alive || !h.drain()) {
    h.link.reset();  // the node closed it (e.g. a frame over a limit): next input reconnects
    for (int k = 0; k < 5; ++k) h.pump();
  }
  return 0;
}
