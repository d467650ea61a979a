#!/usr/bin/env bash
# The 1,000,000-document LSI example, release build, side by side with gensim 4.4.0 in one run.
source "$(dirname "$0")/bench-common.sh"
"$python" Benchmarks/example_bench.py "$root/.build/release/latent" "$@"
