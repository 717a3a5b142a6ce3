#!/usr/bin/env bash
# The embedded default, all on 127.0.0.1 and without epmd:
#   - Knot DNS standing in for Consul's DNS interface: zone consul., SRV records under
#     convoy.service.consul. whose targets are NODE.node.dc1.consul. with A records;
#   - two Erlang nodes and an Elixir node (rebar_fixture) registered there;
#   - the c_node, which discovers them from DNS and joins; the BEAM nodes call it and print
#     what they see; after a while one more Erlang node is registered at runtime and joins.
# Ctrl-C stops everything this script started (each process by PID).
set -euo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: demo.sh BUILD_DIR}" && pwd)
ebin="$build/rebar_fixture/default/lib/convoy_fixture/ebin"
cookie=convoy-demo
service=convoy.service.consul.
work=$(mktemp -d /tmp/convoy-demo.XXXXXX)
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

listening() {  # port -> 0 if a TCP socket LISTENs on it (read /proc, never probe)
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
knotc_() { knotc -s "$work/knot.sock" "$@" >/dev/null; }
register() {  # name port: SRV + A record, as Consul would publish a healthy instance
  knotc_ zone-begin consul.
  knotc_ zone-set consul. "$1.node.dc1.consul." 0 A 127.0.0.1
  knotc_ zone-set consul. "$service" 0 SRV 1 1 "$2" "$1.node.dc1.consul."
  knotc_ zone-commit consul.
}

dns=$(free_port); cport=$(free_port); e1=$(free_port); e2=$(free_port); x1=$(free_port); e3=$(free_port)
cnode="convoy-$cport@127.0.0.1"
flags="-start_epmd false -epmd_module convoy_epmd -pa $ebin -kernel inet_dist_use_interface {127,0,0,1}"
export ERL_CRASH_DUMP_SECONDS=0
cd "$work"

# The tests' Knot config (test/support/knot.conf.in), its placeholders filled in.
mkdir -p db
conf=$(<"$scripts/../test/support/knot.conf.in")
conf=${conf//@DIR@/"$work"}
conf=${conf//@LISTEN@/"127.0.0.1@$dns"}
conf=${conf//@ZONE@/consul.}
conf=${conf//@ZONE_FILE@/consul.zone}
if [[ $conf =~ @[A-Z_]+@ ]]; then
  echo "[demo] knot.conf.in: nothing fills in ${BASH_REMATCH[0]}" >&2; exit 1
fi
printf '%s\n' "$conf" > knot.conf
cat > consul.zone <<ZONE
\$ORIGIN consul.
\$TTL 0
@ IN SOA ns.consul. hostmaster.consul. 1 3600 600 86400 0
@ IN NS ns.consul.
ns IN A 127.0.0.1
ZONE
echo "[demo] Knot DNS as Consul on 127.0.0.1:$dns (SRV $service)"
prefixed knot knotd -c "$work/knot.conf"
wait_port "$dns"
for _ in $(seq 1 100); do [ -S "$work/knot.sock" ] && break; sleep 0.1; done

echo "[demo] Erlang nodes app-$e1, app-$e2 and Elixir node app-$x1 (@127.0.0.1), registered in DNS"
# shellcheck disable=SC2086
prefixed erl1 erl -name "app-$e1@127.0.0.1" -setcookie "$cookie" -noshell $flags \
  -eval "convoy_fixture:serve()"
# shellcheck disable=SC2086
prefixed erl2 erl -name "app-$e2@127.0.0.1" -setcookie "$cookie" -noshell $flags \
  -eval "convoy_fixture_demo:loop('$cnode', 4000)"
prefixed elixir elixir --erl "$flags" --name "app-$x1@127.0.0.1" --cookie "$cookie" \
  "$scripts/demo_elixir.exs" "$cnode"
for p in $e1 $e2 $x1; do wait_port "$p"; done
register erl1 "$e1"; register erl2 "$e2"; register ex1 "$x1"

echo "[demo] c_node $cnode: discovers peers from DNS (targets' A records give the host)"
prefixed c_node "$build/c_node/c_node" --name "$cnode" --cookie "$cookie" \
  --listen-address 127.0.0.1 --consul-service "${service%.}" --node-sname app \
  --nameserver "127.0.0.1:$dns" --poll-interval 1000 --host-from address
wait_port "$cport"

sleep 10
echo "[demo] registering one more Erlang node, app-$e3, at runtime"
# shellcheck disable=SC2086
prefixed erl3 erl -name "app-$e3@127.0.0.1" -setcookie "$cookie" -noshell $flags \
  -eval "convoy_fixture:serve()"
wait_port "$e3"
register erl3 "$e3"
echo "[demo] running; Ctrl-C to stop"
wait
