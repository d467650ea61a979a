#!/usr/bin/env bash
# Makes (once) a Python virtual environment with gensim 4.4.0, numpy and scipy from PyPI and
# prints the path of its python. Used by the interoperability tests and the benchmarks only.
# Exit code 3 means PyPI could not be reached.
set -euo pipefail
venv="${LATENT_VENV:-$(cd "$(dirname "$0")/../.." && pwd)/.build/venv-gensim}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import gensim, numpy, scipy; assert gensim.__version__ == '4.4.0'" 2>/dev/null; then
    python3 -m venv "$venv" >&2
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "gensim==4.4.0" numpy scipy >&2; then
        if ! "$venv/bin/pip" download --quiet --no-deps -d "$(mktemp -d)" six >/dev/null 2>&1; then
            echo "PyPI cannot be reached" >&2
            exit 3
        fi
        exit 1
    fi
fi
echo "$venv/bin/python"
