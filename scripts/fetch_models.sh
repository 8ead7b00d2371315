#!/usr/bin/env bash
# Fetches the face-recognition weights from the npm registry, checks the
# package's integrity hash and the two model files' SHA-256, and unpacks them
# into models/face-api-1.7.15/. Nothing fetched here is committed.
#
# Usage: scripts/fetch_models.sh [MODEL_DIR]   (default: ./models)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
model_dir="${1:-$root/models}"
package="@vladmandic/face-api@1.7.15"
# npm's dist.integrity for the tarball (SHA-512, base64) and the files we use.
tarball_sha512_b64="WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw=="
weights_sha256="b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"
manifest_sha256="cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b"

dest="$model_dir/face-api-1.7.15"
if [[ -f "$dest/.verified" ]]; then
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball="$(ls "$work"/*.tgz)"
actual="$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$actual" != "$tarball_sha512_b64" ]]; then
  echo "fetch_models: integrity mismatch for $package" >&2
  echo "  expected sha512-$tarball_sha512_b64" >&2
  echo "  actual   sha512-$actual" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work"
check() {
  local file="$1" want="$2"
  local got
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  if [[ "$got" != "$want" ]]; then
    echo "fetch_models: sha256 mismatch for $file: $got != $want" >&2
    exit 1
  fi
}
check "$work/package/model/face_recognition_model.bin" "$weights_sha256"
check "$work/package/model/face_recognition_model-weights_manifest.json" "$manifest_sha256"

mkdir -p "$dest/demo"
cp "$work/package/model/face_recognition_model.bin" \
   "$work/package/model/face_recognition_model-weights_manifest.json" \
   "$work/package/LICENSE" "$dest/"
# The package's sample photos serve the demo and the tests (never committed).
cp "$work/package/demo/"sample*.jpg "$dest/demo/"
# The package's own JavaScript build: the independent reference for the
# converter check (tools/faceapi_reference.mjs).
mkdir -p "$dest/dist"
cp "$work/package/dist/face-api.esm.js" "$work/package/dist/tfjs.esm.js" "$dest/dist/" 2>/dev/null || \
  cp "$work/package/dist/face-api.esm.js" "$dest/dist/"
touch "$dest/.verified"
echo "fetch_models: $package verified and unpacked into $dest"
