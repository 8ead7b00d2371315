#!/usr/bin/env bash
# Installs what is missing, builds abis, fetches the face model from npm and
# converts it. Idempotent: a second run only rebuilds what changed.
#   scripts/build.sh [--sanitize]   (--sanitize: ASan+UBSan build in build-asan/)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

build_dir=build
cmake_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ "${1:-}" == "--sanitize" ]]; then
  build_dir=build-asan
  # -O1: the sanitizers' recommended level; at -O0 the dlib networks make the
  # integration tests several times slower without finding anything more.
  # -g1 (line tables, all the sanitizers' reports need): with full -g, the
  # dlib network units need 21 GB of compiler memory and 9 minutes each under
  # ASan, which killed CI's compiler; with -g1, 2.6 GB and 3 minutes.
  cmake_flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g1 -O1" -DABIS_SANITIZE=ON
    -DABIS_BUILD_BENCHMARKS=OFF)
fi

scripts/install_deps.sh
scripts/fetch_models.sh "$root/models"
cmake -S . -B "$build_dir" -G Ninja "${cmake_flags[@]}" >/dev/null
# The dlib network translation units need 2-3 GB of compiler memory each.
cmake --build "$build_dir" -j "$(nproc)"

model="$root/models/face_recognition_resnet_v1.dat"
if [[ ! -f "$model" ]]; then
  "$build_dir/tools/abis_convert_face_model" \
    --manifest "$root/models/face-api-1.7.15/face_recognition_model-weights_manifest.json" \
    --weights "$root/models/face-api-1.7.15/face_recognition_model.bin" \
    --out "$model"
fi
