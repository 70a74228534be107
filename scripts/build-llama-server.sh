#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` from the source that ships inside the npm package
# node-llama-cpp (llama/gitRelease.bundle, a git bundle of the llama.cpp tree), once, and caches
# the binary outside the repository, keyed by the node-llama-cpp version. Prints the binary's
# path on its last line. Needs git, cmake, a C++ compiler (and ninja, when present); only the
# npm registry is contacted (`npm pack`), nothing is downloaded at build time.
#
#   scripts/build-llama-server.sh            # build if missing, print the path
#   LLAMA_SERVER_CACHE=/some/dir scripts/build-llama-server.sh
set -euo pipefail

version="${NODE_LLAMA_CPP_VERSION:-3.22.1}"
cache_root="${LLAMA_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backplane/llama-server}"
dest="$cache_root/node-llama-cpp-$version"
bin="$dest/bin/llama-server"

if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  echo "llama-server already built: $("$bin" --version 2>&1 | head -1)" >&2
  echo "$bin"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/bp-llama-build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "fetching node-llama-cpp@$version from the npm registry" >&2
(cd "$work" && npm pack --silent "node-llama-cpp@$version" >/dev/null)
tar -xzf "$work/node-llama-cpp-$version.tgz" -C "$work" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
echo "llama.cpp source: $(cat "$work/package/llama/llama.cpp.info.json")" >&2
git clone -q "$work/package/llama/gitRelease.bundle" "$work/llama.cpp"

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
# The web UI is off: its default build would fetch prebuilt assets. GGML_NATIVE=OFF keeps the
# binary portable across the x86-64 machines CI lands on (it still uses AVX2/FMA).
cmake -S "$work/llama.cpp" -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >&2
cmake --build "$work/build" --target llama-server -j "$(nproc)" >&2

mkdir -p "$dest/bin"
install -m 0755 "$work/build/bin/llama-server" "$bin.tmp"
mv "$bin.tmp" "$bin"
"$bin" --version >&2
echo "$bin"
