#!/usr/bin/env bash
# The Wikipedia-shaped run of issue 6: DOCUMENTS documents x 100,000 terms (about 150
# distinct terms each, so 0.5 billion non-zeros at 3.2 million documents), 400 topics,
# one-pass, Latent's defaults, from the binary format. gensim's documentation reports
# 5 h 14 min serially for the English Wikipedia of this shape (3.2M documents, 100K terms,
# 0.5G non-zeros, 400 topics) and 1 h 41 min on 4 workers; running gensim here would take
# hours, so only Latent runs.
#
#   Benchmarks/run-wiki-scale.sh [DOCUMENTS ...]     (default: 3200000)
#
# Each size is generated once under bench-data/ (binary, about 1.8 GB per million
# documents) and trained on with `latent lsi`; prints a markdown table of wall time and
# peak RSS, from which the time of other sizes can be extrapolated (it is linear in the
# documents: one chunk decomposition and one merge per 100,000).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
make release >&2
data="${LATENT_BENCH_DATA:-$root/bench-data}"
mkdir -p "$data/runs"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(3200000)
echo "| documents | non-zeros | generate s | train s | peak RSS MiB | documents/s |"
echo "|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
    prefix="$data/wiki-scale-$n"
    start=$(date +%s.%N)
    if [ ! -f "$prefix.lbc" ]; then
        .build/release/latent-generate --out "$prefix" --documents "$n" --binary >&2
    fi
    generated=$(awk "BEGIN { print $(date +%s.%N) - $start }")
    nnz=$(.build/release/latent info "$prefix.lbc" --log-level warning | awk '/non-zeros/ {print $2}')
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$data/runs/rss-$n" .build/release/latent lsi "$prefix.lbc" --vocab "$prefix.vocab" \
        --topics 400 --out "$data/runs/wiki-scale-$n.lsi" --log-level warning
    trained=$(awk "BEGIN { print $(date +%s.%N) - $start }")
    rss=$(( $(tail -1 "$data/runs/rss-$n") / 1024 ))
    printf "| %s | %s | %.0f | %.1f | %s | %.0f |\n" "$n" "$nnz" "$generated" "$trained" "$rss" "$(awk "BEGIN { print $n / $trained }")"
done
