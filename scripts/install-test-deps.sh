#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real: podman (with runc) for the vLLM
# container tests, busybox-static for the test image's root filesystem, and PostgreSQL for the
# database.url tests, Chromium for the browser tests (GraphiQL offline), tmux, and cmake with
# ninja to build llama-server (scripts/build-llama-server.sh), and python3-torch (CPU PyTorch for
# /usr/bin/python3) for the Python bwp/1 worker and its cross-check against the TS TinyLM worker.
# Needs root (or sudo). Safe to run again.
set -euo pipefail
packages=(podman runc busybox-static postgresql chromium tmux cmake ninja-build python3-torch)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies already installed: ${packages[*]}"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
