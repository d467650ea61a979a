#!/usr/bin/env bash
# LSI benchmarks (issue 6 cases a-c), release build, side by side with gensim 4.4.0 in one run.
source "$(dirname "$0")/bench-common.sh"
"$python" Benchmarks/lsi_bench.py "$root/.build/release/latent" "$data" "$@"
