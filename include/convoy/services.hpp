#pragma once
// The built-in services the c_node executable offers every peer (see README, "What a BEAM
// peer sees"):
//   c_node  gen_server: ping -> pong; {echo, T} -> T; nodes -> [node atoms connected]
//   echo    process:    {Pid, T} -> T sent to Pid, in order
#include "convoy/node.hpp"

namespace convoy {

Status install_builtin_services(Node& node);

}  // namespace convoy
