#!/usr/bin/env bash
# Corpus benchmark, release build, side by side with gensim 4.4.0 in one run.
source "$(dirname "$0")/bench-common.sh"
"$python" Benchmarks/corpus_bench.py "$root/.build/release/latent" "$data" "$@"
