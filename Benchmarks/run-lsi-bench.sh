#!/usr/bin/env bash
# LSI benchmarks (issue 6 cases a-c), release build, side by side with gensim 4.4.0 in one run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
make release >&2
python="$(Tests/Interop/python-env.sh)"
data="${LATENT_BENCH_DATA:-$root/bench-data}"
"$python" Benchmarks/lsi_bench.py "$root/.build/release/latent" "$data" "$@"
