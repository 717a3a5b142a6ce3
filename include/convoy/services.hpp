#pragma once
// The built-in services the c_node executable offers every peer (see README, "What a BEAM
// peer sees"):
//   c_node  gen_server: ping -> pong; {echo, T} -> T; nodes -> [node atoms connected];
//                       cast {echo, Pid, T} -> T sent to Pid
//   echo    process:    {Pid, T} -> T sent to Pid, in order
//   rpc     c_node:echo/1, c_node:ping/0, erlang:node/0, erlang:nodes/0
#include "convoy/node.hpp"

namespace convoy {

Status install_builtin_services(Node& node);

}  // namespace convoy
