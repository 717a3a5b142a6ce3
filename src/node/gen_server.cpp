#include <spdlog/spdlog.h>

#include "convoy/node.hpp"
#include "convoy/process.hpp"
#include "term/printed.hpp"

namespace convoy {

Mailbox gen_server_mailbox(GenServer server) {
  return [server = std::move(server)](Node& node, const Pid&, const Term& message) {
    // {'$gen_call', {From, Tag}, Request}
    if (message.is_tuple(3) && message.element(0)->is_atom("$gen_call") &&
        message.element(1)->is_tuple(2) && message.element(1)->element(0)->is_pid()) {
      if (!server.handle_call) return;
      const Term& from = *message.element(1);
      if (auto answer = server.handle_call(node, *message.element(2), from)) {
        if (auto st = node.reply(from, *answer); !st) {
          spdlog::warn("gen_server: cannot reply to {}: {}", printed(from), st.error().message);
        }
      }
      return;
    }
    if (message.is_tuple(2) && message.element(0)->is_atom("$gen_cast")) {
      if (server.handle_cast) server.handle_cast(node, *message.element(1));
      return;
    }
    if (server.handle_info) server.handle_info(node, message);
  };
}

}  // namespace convoy
