#!/usr/bin/env bash
# consume.sh MODE BUILD_DIR SOURCE_DIR: builds and runs test/packaging/consumer against
# convoy the way a downstream project would, in a scratch directory it removes afterwards.
#   installed     cmake --install BUILD_DIR into a prefix; consume it with find_package(convoy)
#                 and with pkg-config; run the installed c_node
#   subdirectory  add_subdirectory(SOURCE_DIR) (as FetchContent does), without CLI11/toml++
#   deb           cpack a .deb from BUILD_DIR, unpack it into a scratch root, check its files
#                 and metadata, run its c_node
set -euo pipefail
mode=$1 build=$2 src=$3
consumer="$src/test/packaging/consumer"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/convoy-consume.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# A port nothing listens on now (the consumer's node binds it).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  fail "no free port found"
}

run_consumer() {
  local exe=$1 port out
  port=$(free_port)
  out=$(timeout 20 "$exe" "consumer-$port@127.0.0.1" secret-cookie) || fail "$exe exited $?"
  echo "$out"
  out=$(tail -n 1 <<<"$out")  # what the program printed comes after the library's log
  [[ "$out" == "convoy "*": consumer-$port@127.0.0.1 got {hello,42}" ]] || fail "unexpected output: $out"
}

configure_consumer() {
  local dir=$1; shift
  cmake -S "$consumer" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE= "$@" >"$dir.log" 2>&1 ||
    { cat "$dir.log"; fail "configuring the consumer ($*)"; }
  cmake --build "$dir" -j "$(nproc)" >>"$dir.log" 2>&1 ||
    { cat "$dir.log"; fail "building the consumer ($*)"; }
}

case "$mode" in
  installed)
    prefix="$scratch/prefix"
    cmake --install "$build" --prefix "$prefix" >"$scratch/install.log" ||
      { cat "$scratch/install.log"; fail "cmake --install"; }
    for f in bin/c_node lib/libconvoy.a include/convoy/node.hpp include/convoy/version.hpp \
             lib/cmake/convoy/convoyConfig.cmake lib/cmake/convoy/convoyConfigVersion.cmake \
             lib/cmake/convoy/convoyTargets.cmake lib/pkgconfig/convoy.pc \
             lib/systemd/system/convoy.service; do
      [ -e "$prefix/$f" ] || fail "not installed: $f"
    done
    # No header of the public API may reach into the sources or into ei/ldns/OpenSSL.
    if grep -lE '#include *[<"](ei\.h|ldns/|openssl/|src/|node/|dist/)' "$prefix"/include/convoy/*.hpp; then
      fail "an installed header includes a private one"
    fi
    "$prefix/bin/c_node" --version | grep -q "^c_node (convoy) " || fail "installed c_node --version"

    configure_consumer "$scratch/pkg" -DCMAKE_PREFIX_PATH="$prefix" -DCONVOY_CONSUME=package
    run_consumer "$scratch/pkg/consumer"
    # A version the package does not provide is refused at configure time.
    if cmake -S "$consumer" -B "$scratch/v9" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
         -DCONVOY_CONSUME=package -DCONVOY_WANT_VERSION=9.0 >"$scratch/v9.log" 2>&1; then
      fail "find_package(convoy 9.0) was accepted"
    fi
    grep -q "compatible with requested version \"9.0\"" <(tr -s " \n" " " <"$scratch/v9.log") || { cat "$scratch/v9.log"; fail "no version complaint"; }

    # pkg-config, as a Makefile-based project would.
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    pkg-config --exists convoy || fail "pkg-config does not find convoy"
    [ "$(pkg-config --modversion convoy)" = "$(sed -n 's/^#define CONVOY_VERSION "\(.*\)"/\1/p' "$prefix/include/convoy/version.hpp")" ] ||
      fail "convoy.pc and version.hpp disagree"
    # shellcheck disable=SC2046
    g++ -std=c++20 -o "$scratch/pc-consumer" "$consumer/main.cpp" $(pkg-config --cflags --libs convoy) ||
      fail "building with pkg-config"
    run_consumer "$scratch/pc-consumer"
    ;;
  subdirectory)
    configure_consumer "$scratch/sub" -DCONVOY_CONSUME=subdirectory -DCONVOY_SOURCE_DIR="$src"
    # The library alone: no daemon, no tests, so neither CLI11 nor toml++ was looked for.
    if grep -qE '^(CLI11_DIR|tomlplusplus_DIR|GTest_DIR)' "$scratch/sub/CMakeCache.txt"; then
      fail "add_subdirectory(convoy) looked for the daemon's or the tests' dependencies"
    fi
    run_consumer "$scratch/sub/consumer"
    ;;
  deb)
    (cd "$scratch" && cpack --config "$build/CPackConfig.cmake" -B "$scratch/out" >"$scratch/cpack.log" 2>&1) ||
      { cat "$scratch/cpack.log"; fail "cpack"; }
    deb=$(ls "$scratch"/out/convoy_*.deb)
    dpkg-deb -I "$deb" >"$scratch/info"
    cat "$scratch/info"
    grep -q "^ Package: convoy$" "$scratch/info" || fail "package name"
    grep -q "^ Depends: .*libldns" "$scratch/info" || fail "Depends lacks libldns (dpkg-shlibdeps)"
    dpkg-deb -x "$deb" "$scratch/root"
    for f in usr/bin/c_node usr/lib/systemd/system/convoy.service usr/include/convoy/node.hpp \
             usr/lib/cmake/convoy/convoyConfig.cmake usr/lib/pkgconfig/convoy.pc; do
      [ -e "$scratch/root/$f" ] || fail "not in the .deb: $f"
    done
    # convoy.pc is relocatable: its prefix is where it was unpacked.
    inc=$(PKG_CONFIG_PATH="$scratch/root/usr/lib/pkgconfig" pkg-config --variable=includedir convoy)
    [ "$(realpath "$inc")" = "$scratch/root/usr/include" ] ||
      fail "convoy.pc's includedir is $inc, not the unpacked root's"
    "$scratch/root/usr/bin/c_node" --version | grep -q "^c_node (convoy) " || fail ".deb c_node --version"
    ;;
  *) fail "unknown mode $mode" ;;
esac
echo "OK: $mode"
