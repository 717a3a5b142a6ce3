#pragma once
// The node's identity as erl_interface sees it: an ei_cnode that mints pids and refs for
// our name and creation. Only src/ei/ includes <ei.h>.
#include <cstdint>
#include <memory>
#include <string>

#include "convoy/result.hpp"
#include "convoy/term.hpp"

namespace convoy::ei {

// Calls ei_init() the first time; safe from any thread.
void ensure_initialised();

class Identity {
 public:
  static Result<Identity> create(const std::string& node_name, const std::string& cookie,
                                 std::uint32_t creation);
  Identity(Identity&&) noexcept;
  Identity& operator=(Identity&&) noexcept;
  ~Identity();

  Pid make_pid();
  Ref make_ref();

 private:
  struct State;
  explicit Identity(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace convoy::ei
