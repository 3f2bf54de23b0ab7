#!/usr/bin/env bash
# Runs `alignc bench` and its peers on the same Dawn adapter, alternating, so that all figures in
# docs/performance.md come from one run under the same machine load:
#   - the hand-written reference kernels of ../shared/reference-bench (tex2 matmul, axpb elementwise)
#   - TensorFlow.js 4.22 tfjs-backend-webgpu (matmul, conv)
# The peers are NOT installed in this repository: copy ../shared/reference-bench to a scratch
# directory and install webgpu + tfjs there, then point PEERS at it:
#   mkdir -p /tmp/peers && cp /work/shared/reference-bench/{lib,kernels,matmul,elementwise,tfjs-bench}.mjs /tmp/peers/
#   (cd /tmp/peers && echo '{"type":"module"}' > package.json &&
#    npm install webgpu@0.6.2 @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-webgpu@4.22.0 --ignore-scripts)
# Usage: bash bench/run-with-peers.sh [PASSES=2] [OUTDIR=/tmp/alignc-bench]
# Needs a build (`npm run build`, or ALIGNC=path/to/cli/main.js).
set -euo pipefail
PASSES=${1:-2}
OUT=${2:-/tmp/alignc-bench}
PEERS=${PEERS:-/tmp/peers}
ALIGNC=${ALIGNC:-dist/cli/main.js}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p "$OUT"
for pass in $(seq 1 "$PASSES"); do
  echo "== pass $pass: alignc"
  node "$ALIGNC" bench --rounds 5 --json "$OUT/alignc-$pass.json" 2> >(grep -v artificially >&2)
  if [ -d "$PEERS/node_modules/webgpu" ]; then
    echo "== pass $pass: reference hand kernels"
    (cd "$PEERS" && node matmul.mjs --sizes 512,1024 --rounds 5 --variants tex2 --no-idle --json "$OUT/ref-matmul-$pass.json") 2> >(grep -v artificially >&2)
    (cd "$PEERS" && node elementwise.mjs --rounds 5 > "$OUT/ref-elementwise-$pass.json") 2> >(grep -v artificially >&2)
    if [ -d "$PEERS/node_modules/@tensorflow/tfjs-backend-webgpu" ]; then
      echo "== pass $pass: tfjs-webgpu"
      (cd "$PEERS" && node tfjs-bench.mjs --backend webgpu --rounds 5 --no-idle --only matmul512,matmul1024,conv) > "$OUT/tfjs-$pass.txt" 2> >(grep -v artificially >&2)
      cat "$OUT/tfjs-$pass.txt"
    fi
  else
    echo "(no peers at $PEERS; see the header of this script)"
  fi
done
echo "results in $OUT"
