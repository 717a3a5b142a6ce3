#!/usr/bin/env bash
# Smoke test of rebar_fixture with live, epmd-less BEAM nodes on 127.0.0.1:
# an erl node and an elixir node serve; short-lived erl/elixir clients ping
# across, call the gen_server, echo the mixed term and stream 10000 messages.
# Usage: test/integration/beam_smoke.sh EBIN   (EBIN = CONVOY_FIXTURE_EBIN)
set -euo pipefail

EBIN=${1:?usage: $0 EBIN}
[[ -f $EBIN/convoy_epmd.beam ]] || { echo "no convoy_epmd.beam in $EBIN" >&2; exit 2; }
export ERL_CRASH_DUMP_SECONDS=0
WORK=$(mktemp -d)
cd "$WORK"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Four consecutive free ports in 45000..45899.
base=$((45000 + (RANDOM % 225) * 4))
for _ in $(seq 225); do
  busy=0
  for i in 0 1 2 3; do
    [[ -z $(ss -Hltn "sport = :$((base + i))") ]] || busy=1
  done
  ((busy)) || break
  base=$((base + 4)); ((base < 45900)) || base=45000
done
B1="beam1-$base@127.0.0.1"; X1="ex1-$((base + 1))@127.0.0.1"
B2="beam2-$((base + 2))@127.0.0.1"; X2="ex2-$((base + 3))@127.0.0.1"

ERL_DIST=(-setcookie secret -start_epmd false -epmd_module convoy_epmd -pa "$EBIN"
          -kernel inet_dist_use_interface '{127,0,0,1}' -noshell)
# elixir --erl: one string, word-split by the elixir shell script (no quotes
# survive, so no spaces inside {127,0,0,1} and none in EBIN).
EX_DIST="-start_epmd false -epmd_module convoy_epmd -pa $EBIN -kernel inet_dist_use_interface {127,0,0,1}"

epmd_before=$(ps -eo pid,comm | awk '$2 == "epmd"' || true)

erl -name "$B1" "${ERL_DIST[@]}" -eval 'convoy_fixture:serve()' >b1.out 2>b1.err </dev/null &
PIDS+=($!)
elixir --erl "$EX_DIST" --name "$X1" --cookie secret -e ':convoy_fixture.serve()' >x1.out 2>x1.err </dev/null &
PIDS+=($!)
if ! timeout 30 bash -c 'until grep -qx READY b1.out && grep -qx READY x1.out; do sleep 0.1; done'; then
  echo "servers not READY" >&2; cat b1.out b1.err x1.out x1.err >&2; exit 1
fi

timeout 120 erl -name "$B2" "${ERL_DIST[@]}" -eval "
  convoy_fixture:ping('$X1', 5000),
  convoy_fixture:ping('$B1', 5000),
  rpc:call('$B1', convoy_fixture, ping, ['$X1', 5000]),
  rpc:call('$X1', convoy_fixture, ping, ['$B1', 5000]),
  convoy_fixture:call({fixture_server, '$X1'}, ping, 5000),
  rpc:call('$X1', convoy_fixture, call, [{fixture_server, '$B1'}, {echo, from_elixir}, 5000]),
  rpc:call('$B1', convoy_fixture, call, [{fixture_server, '$X1'}, {echo, from_erlang}, 5000]),
  convoy_fixture:mixed_echo({fixture_server, '$X1'}, 5000),
  convoy_fixture:mixed_echo({fixture_server, '$B1'}, 5000),
  [convoy_fixture:echo_stream('$B1', 10000, 30000) || _ <- [1,2,3]],
  convoy_fixture:done(convoy_fixture:echo_stream('$X1', 10000, 30000))" >c1.out 2>c1.err </dev/null || true

timeout 120 elixir --erl "$EX_DIST" --name "$X2" --cookie secret -e "
  :convoy_fixture.ping(:\"$B1\", 5000)
  :convoy_fixture.call({:fixture_server, :\"$B1\"}, {:echo, %{elixir: true}}, 5000)
  :convoy_fixture.mixed_echo({:fixture_server, :\"$B1\"}, 5000)
  :convoy_fixture.done(:convoy_fixture.echo_stream(:\"$B1\", 10000, 30000))" >c2.out 2>c2.err </dev/null || true

cat c1.out c2.out
expect() {  # file, exact line regex, count
  local n; n=$(grep -cxE "$2" "$1" || true)
  [[ $n -eq $3 ]] || { echo "FAIL: $1 has $n (want $3) lines matching '$2'" >&2; cat "$1" "${1%.out}.err" >&2; exit 1; }
}
expect c1.out 'PING pong' 4
expect c1.out 'CALL ok (pong|from_elixir|from_erlang)' 3
expect c1.out 'MIXED ok' 2
expect c1.out 'STREAM ok 10000 [0-9]+' 4
expect c2.out 'PING pong' 1
expect c2.out "CALL ok #\{elixir => true\}" 1
expect c2.out 'MIXED ok' 1
expect c2.out 'STREAM ok 10000 [0-9]+' 1

epmd_after=$(ps -eo pid,comm | awk '$2 == "epmd"' || true)
[[ $epmd_after == "$epmd_before" ]] || { echo "FAIL: epmd appeared: $epmd_after" >&2; exit 1; }
awk '/^STREAM ok/ { printf "echo rate: %d msg/s (%d in %d us)\n", $3 * 1e6 / $4, $3, $4 }' c1.out c2.out
echo "beam_smoke: OK"
