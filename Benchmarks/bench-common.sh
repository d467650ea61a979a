# Sourced by the benchmark runners: the project root as working directory, a release build,
# the Python of the gensim environment ($python) and the folder for generated data ($data).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
make release >&2
python="$(Tests/Interop/python-env.sh)"
data="${LATENT_BENCH_DATA:-$root/bench-data}"
