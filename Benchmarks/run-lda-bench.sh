#!/usr/bin/env bash
# LDA benchmark (issue 14, must-show 6), release build, side by side with gensim 4.4.0 in one run.
source "$(dirname "$0")/bench-common.sh"
# tomotopy (PyPI) is compared too; only this benchmark needs it.
"$python" -c "import tomotopy" 2>/dev/null || "$python" -m pip install --quiet --disable-pip-version-check tomotopy >&2
"$python" Benchmarks/lda_bench.py "$root/.build/release/latent" "$data" "$@"
