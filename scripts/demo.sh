#!/usr/bin/env bash
# The main job for now: a face enrolment and identification demo from the
# command line, on a throw-away gallery.
#  1. Cuts the face-api package's group photos (models/face-api-1.7.15/demo)
#     into one photo per face, enrols every face of sample1,2,4,5,6 as its own
#     identity, then searches each face of sample3: the candidate lists show
#     whether the same women appear in the other photos.
#  2. With ../shared/data/faces present, enrols the first photo of each of its
#     identities and identifies another photo of one of them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
abis="$root/build/cli/abis"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export ABIS_DB="$work/demo.db" ABIS_MODELS="$root/models" OPENBLAS_NUM_THREADS=1

samples="$root/models/face-api-1.7.15/demo"
echo "== cutting group photos into single faces"
for k in 1 2 4 5 6; do
  "$abis" faces --crop "$work/crops/sample$k" "$samples/sample$k.jpg" | head -1
done
echo "== enrolling each face as its own identity"
for crop in "$work"/crops/*/*.png; do
  name="$(basename "$crop" .png)"
  "$abis" enroll --gallery demo --identity "$name" "$crop" || true
done
"$abis" gallery list
echo "== searching sample3.jpg (a group photo: the tool lists its faces first)"
"$abis" identify --gallery demo "$samples/sample3.jpg"
for face in 0 1 2; do
  echo "-- face $face of sample3.jpg"
  "$abis" identify --gallery demo --top 3 --face "$face" "$samples/sample3.jpg" || true
done

shared="$root/../shared/data/faces"
if [[ -d "$shared" ]]; then
  echo "== enrolling the first photo of each identity in $shared"
  mkdir -p "$work/firsts"
  for dir in "$shared"/*/; do
    id="$(basename "$dir")"
    mkdir -p "$work/firsts/$id"
    first="$(ls "$dir" | sort -n | head -1)"
    cp "$dir/$first" "$work/firsts/$id/"
  done
  "$abis" enroll --gallery shared "$work/firsts"
  echo "== identifying yale_subject03/5.png (not enrolled: the enrolment was its first photo)"
  "$abis" identify --gallery shared --top 5 "$shared/yale_subject03/5.png"
  echo "== verifying it against the claimed identity yale_subject03"
  "$abis" verify --gallery shared --identity yale_subject03 "$shared/yale_subject03/5.png"
fi
