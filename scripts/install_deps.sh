#!/usr/bin/env bash
# Installs the Debian packages abis builds and tests with, only those missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git openssl ca-certificates
  libdlib-dev libdlib-data libopenblas-dev libjpeg-dev libpng-dev
  libopencv-dev nlohmann-json3-dev libcli11-dev libsqlite3-dev libsodium-dev
  libcpp-httplib-dev libssl-dev curl wrk libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-sklearn python3-numpy
  libfaiss-dev  # bench/search_vs_faiss: the optional FAISS peer benchmark
  chromium  # tests/browser: the web app in headless chromium
)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  echo "install_deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
