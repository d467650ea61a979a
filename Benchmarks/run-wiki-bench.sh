#!/usr/bin/env bash
# Wikipedia dumps to corpora (issue 16, must-show 4), release build, side by side with gensim
# 4.4.0's make_wiki in one run. Options go to wiki_bench.py (--pages 55000,220000 by default:
# about 0.25 and 1 GB of XML).
source "$(dirname "$0")/bench-common.sh"
swift build -c release --product latent-generate >&2
"$python" Benchmarks/wiki_bench.py "$root/.build/release/latent" "$root/.build/release/latent-generate" "$data" "$@"
