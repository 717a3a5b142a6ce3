#include "ei/identity.hpp"

#include <ei.h>
#include <fmt/format.h>

#include <mutex>

namespace convoy::ei {

void ensure_initialised() {
  static std::once_flag once;
  std::call_once(once, [] { ::ei_init(); });
}

struct Identity::State {
  ei_cnode cnode{};
};

Identity::Identity(std::unique_ptr<State> s) : s_(std::move(s)) {}
Identity::Identity(Identity&&) noexcept = default;
Identity& Identity::operator=(Identity&&) noexcept = default;
Identity::~Identity() = default;

Result<Identity> Identity::create(const std::string& node_name, const std::string& cookie,
                                  std::uint32_t creation) {
  ensure_initialised();
  const auto at = node_name.find('@');
  if (at == std::string::npos) {
    return make_error(Errc::invalid_argument, fmt::format("node name '{}' lacks '@'", node_name));
  }
  if (cookie.size() > EI_MAX_COOKIE_SIZE) {
    return make_error(Errc::invalid_argument,
                      fmt::format("the cookie is {} bytes; erl_interface takes at most {}",
                                  cookie.size(), EI_MAX_COOKIE_SIZE));
  }
  const std::string alive = node_name.substr(0, at);
  const std::string host = node_name.substr(at + 1);
  auto state = std::make_unique<State>();
  // The address argument only matters for ei's own connect/accept, which we do not use.
  in_addr any{};
  if (::ei_connect_xinit(&state->cnode, host.c_str(), alive.c_str(), node_name.c_str(), &any,
                         cookie.c_str(), creation) < 0) {
    return make_error(Errc::invalid_argument,
                      fmt::format("erl_interface rejected node name '{}' (too long?)", node_name));
  }
  return Identity(std::move(state));
}

Pid Identity::make_pid() {
  erlang_pid p{};
  ::ei_make_pid(&s_->cnode, &p);
  return Pid{p.node, p.num, p.serial, p.creation};
}

Ref Identity::make_ref() {
  erlang_ref r{};
  ::ei_make_ref(&s_->cnode, &r);
  Ref out{r.node, r.creation, {}};
  out.ids.assign(r.n, r.n + r.len);
  return out;
}

}  // namespace convoy::ei
