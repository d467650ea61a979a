#!/usr/bin/env bash
# Speed and bits of LSI models, this checkout against another commit, built side by side
# (release) and run alternately on the same files:
#
#   Benchmarks/run-compare-engines.sh COMMIT [--runs 3]
#
# The other commit is checked out in a worktree under $LATENT_BENCH_DATA/engine-COMMIT and
# built there (a full release build the first time).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
commit="$1"; shift
data="${LATENT_BENCH_DATA:-$root/bench-data}"
mkdir -p "$data"
old="$data/engine-$commit"
[ -d "$old" ] || git worktree add --detach "$old" "$commit" >&2
(cd "$old" && swift build -c release --product latent >&2)
make release >&2
python="$(Tests/Interop/python-env.sh)"
"$python" Benchmarks/compare_engines.py "$old/.build/release/latent" "$root/.build/release/latent" "$data" "$@"
