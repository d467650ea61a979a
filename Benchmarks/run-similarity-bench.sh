#!/usr/bin/env bash
# Similarity queries (issue 17, must-show 5), release build, side by side with gensim 4.4.0's
# Similarity on the same vectors in one run; the query server under wrk. Options go to
# similarity_bench.py (--documents 1000000 --dimension 400 by default: 1.6 GB of vectors,
# generated once under bench-data/similarity).
source "$(dirname "$0")/bench-common.sh"
command -v wrk >/dev/null || { echo "installing wrk" >&2; $( [ "$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; }
command -v curl >/dev/null || { $( [ "$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >&2; }
"$python" Benchmarks/similarity_bench.py "$root/.build/release/latent" "$data" "$@"
