// The smallest useful convoy program: start a node, give it a process, send that process a
// term through the node, print what arrived. Exits 0 only if the message made it.
#include <chrono>
#include <cstdio>
#include <optional>

#include "convoy/node.hpp"
#include "convoy/version.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: consumer NAME COOKIE\n");
    return 2;
  }
  auto name = convoy::NodeName::parse(argv[1]);
  if (!name) {
    std::fprintf(stderr, "bad name: %s\n", name.error().message.c_str());
    return 2;
  }
  auto node =
      convoy::Node::start({.name = *name, .cookie = argv[2], .listen_address = "127.0.0.1"});
  if (!node) {
    std::fprintf(stderr, "start: %s\n", node.error().message.c_str());
    return 1;
  }
  std::optional<convoy::Term> got;
  const auto pid = (*node)->spawn(
      [&got](convoy::Node&, const convoy::Pid&, const convoy::Term& message) { got = message; });
  const auto sent = (*node)->send(
      pid, convoy::Term::tuple({convoy::Term::atom("hello"), convoy::Term::integer(42)}));
  if (!sent) return 1;
  (*node)->run_until([&] { return got.has_value(); }, std::chrono::seconds(5));
  if (!got) return 1;
  std::printf("convoy %s: %s got %s\n", CONVOY_VERSION, (*node)->name().str().c_str(),
              got->to_string().c_str());
  return 0;
}
