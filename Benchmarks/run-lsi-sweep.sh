#!/usr/bin/env bash
# LSI across corpus shapes (issue 18), release build, side by side with gensim 4.4.0 in one run.
# Shapes: mid, mid-f32, b, b-f32, tall, wide, k1000 (all by default; --shapes mid,b to choose).
# --references-only computes and caches the chosen shapes' reference SVDs (SciPy, the slow part:
# about half an hour for tall on two cores) and times nothing.
source "$(dirname "$0")/bench-common.sh"
"$python" Benchmarks/lsi_sweep.py "$root/.build/release/latent" "$data" "$@"
