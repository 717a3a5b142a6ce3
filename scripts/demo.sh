#!/usr/bin/env bash
# The embedded default: on 127.0.0.1, an Erlang node and an Elixir node (from rebar_fixture,
# no epmd) and the c_node; the BEAM nodes ping, call and stream through the c_node every few
# seconds and print what they see. Ctrl-C stops everything this script started.
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: demo.sh BUILD_DIR}" && pwd)
ebin="$build/rebar_fixture/default/lib/convoy_fixture/ebin"
cookie=convoy-demo
work=$(mktemp -d)
pids=()

cleanup() {
  trap - INT TERM EXIT
  echo; echo "[demo] stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup INT TERM EXIT

listening() {  # port -> 0 if something LISTENs on it (read /proc, never probe)
  local hex; hex=$(printf '%04X' "$1")
  grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    listening "$p" || { echo "$p"; return; }
  done
  echo "no free port" >&2; exit 1
}
wait_port() {
  for _ in $(seq 1 300); do listening "$1" && return 0; sleep 0.1; done
  echo "[demo] nothing listens on $1 after 30 s" >&2; return 1
}
prefixed() {  # name cmd... : run in background, prefix every output line
  local name=$1; shift
  "$@" > >(sed -u "s/^/[$name] /") 2>&1 &
  pids+=($!)  # the program itself, so cleanup signals it by PID
}

cport=$(free_port); eport=$(free_port); xport=$(free_port)
cnode="convoy-$cport@127.0.0.1"
flags="-start_epmd false -epmd_module convoy_epmd -pa $ebin -kernel inet_dist_use_interface {127,0,0,1}"
export ERL_CRASH_DUMP_SECONDS=0
cd "$work"

echo "[demo] c_node $cnode (port $cport from its name; no epmd anywhere)"
prefixed c_node "$build/c_node/c_node" --name "$cnode" --cookie "$cookie" --listen-address 127.0.0.1
wait_port "$cport"

echo "[demo] Erlang node erl-$eport@127.0.0.1 and Elixir node ex-$xport@127.0.0.1"
# shellcheck disable=SC2086
prefixed erlang erl -name "erl-$eport@127.0.0.1" -setcookie "$cookie" -noshell $flags \
  -eval "convoy_fixture_demo:loop('$cnode', 4000)"
prefixed elixir elixir --erl "$flags" --name "ex-$xport@127.0.0.1" --cookie "$cookie" \
  "$scripts/demo_elixir.exs" "$cnode"
echo "[demo] running; Ctrl-C to stop"
wait
