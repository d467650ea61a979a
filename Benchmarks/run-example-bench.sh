#!/usr/bin/env bash
# The 1,000,000-document LSI example, release build, side by side with gensim 4.4.0 in one run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
make release >&2
python="$(Tests/Interop/python-env.sh)"
"$python" Benchmarks/example_bench.py "$root/.build/release/latent" "$@"
