#!/usr/bin/env bash
# LDA benchmark (issue 14, must-show 6), release build, side by side with gensim 4.4.0 in one run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
make release >&2
python="$(Tests/Interop/python-env.sh)"
data="${LATENT_BENCH_DATA:-$root/bench-data}"
"$python" Benchmarks/lda_bench.py "$root/.build/release/latent" "$data" "$@"
