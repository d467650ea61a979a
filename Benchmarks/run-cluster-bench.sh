#!/usr/bin/env bash
# Case (e) of issue 6 and must-show 5 of issue 5: cluster scaling on the Wikipedia-shaped
# corpus (100,000 terms, about 150 distinct terms per document, 400 topics, one-pass,
# Latent's defaults), from the binary format:
#   - in-process with one thread (the baseline) and with two;
#   - the cluster path with one local worker (--threads 1) and with two, documents sent
#     over gRPC;
#   - one and two workers in shared-storage mode (workers read their ranges from the file).
# Every cluster run starts a fresh dispatcher and fresh workers on loopback.
#
#   Benchmarks/run-cluster-bench.sh [DOCUMENTS [CHUNK_SIZE]]   (default 800000, a quarter of
#                                                                 Wikipedia, and 200000)
#
# Chunks of 200,000 documents: on two cores the dispatcher's merges compete with the two
# workers' jobs, and larger chunks mean fewer merges per job (see BENCHMARKS.md).
#
# Prints a markdown table: wall time of `latent lsi`, the ratio to in-process with one
# thread, and the peak RSS of the client, the dispatcher and the workers.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
make release >&2
data="${LATENT_BENCH_DATA:-$root/bench-data}"
mkdir -p "$data/runs"
n="${1:-800000}"
chunk="${2:-200000}"
prefix="$data/wiki-scale-$n"
if [ ! -f "$prefix.lbc" ]; then
    .build/release/latent-generate --out "$prefix" --documents "$n" --binary >&2
fi
latent="$root/.build/release/latent"
logs="$data/runs/cluster-$n"
mkdir -p "$logs"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

peak() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# run NAME WORKERS [lsi options...]: WORKERS=0 is in-process.
run() {
    local name=$1 workers=$2
    shift 2
    local cluster_args=() dispatcher_pid="" worker_pids=() port
    if [ "$workers" -gt 0 ]; then
        "$latent" dispatcher --listen 127.0.0.1:0 >"$logs/$name.dispatcher.out" 2>"$logs/$name.dispatcher.log" &
        dispatcher_pid=$!
        pids+=("$dispatcher_pid")
        until grep -q "listening on" "$logs/$name.dispatcher.out"; do sleep 0.1; done
        port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$logs/$name.dispatcher.out")
        for w in $(seq 1 "$workers"); do
            "$latent" worker --dispatcher "127.0.0.1:$port" --threads 1 --name "bench-$w" 2>"$logs/$name.worker$w.log" &
            worker_pids+=($!)
            pids+=($!)
        done
        until [ "$(grep -c "registered:" "$logs/$name.dispatcher.log")" -ge "$workers" ]; do sleep 0.1; done
        cluster_args=(--distributed required --dispatcher "127.0.0.1:$port")
    else
        cluster_args=(--distributed off)
    fi
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$logs/$name.rss" "$latent" lsi "$prefix.lbc" --vocab "$prefix.vocab" --topics 400 \
        --chunk-size "$chunk" --out "$logs/$name.lsi" "${cluster_args[@]}" "$@" 2>"$logs/$name.client.log"
    end=$(date +%s.%N)
    local seconds client_rss dispatcher_rss="-" worker_rss="-"
    seconds=$(awk "BEGIN { print $end - $start }")
    client_rss=$(( $(tail -1 "$logs/$name.rss") / 1024 ))
    if [ -n "$dispatcher_pid" ]; then
        dispatcher_rss=$(peak "$dispatcher_pid")
        worker_rss=$(for pid in "${worker_pids[@]}"; do peak "$pid"; done | paste -sd/)
        kill -9 "$dispatcher_pid" "${worker_pids[@]}" 2>/dev/null || true
    fi
    printf "%s %s %s %s %s\n" "$name" "$seconds" "$client_rss" "$dispatcher_rss" "$worker_rss" >>"$logs/results"
}

rm -f "$logs/results"
runs="${LATENT_BENCH_RUNS:-in-process-1-thread in-process-2-threads cluster-1-worker cluster-2-workers cluster-1-worker-shared cluster-2-workers-shared}"
for name in $runs; do
    case $name in
    in-process-1-thread) run "$name" 0 --threads 1 ;;
    in-process-2-threads) run "$name" 0 --threads 2 ;;
    cluster-1-worker) run "$name" 1 ;;
    cluster-2-workers) run "$name" 2 ;;
    cluster-1-worker-shared) run "$name" 1 --shared-storage ;;
    cluster-2-workers-shared) run "$name" 2 --shared-storage ;;
    esac
done

nnz=$("$latent" info "$prefix.lbc" --log-level warning | awk '/non-zeros/ {print $2}')
echo "Wikipedia-shaped corpus: $n documents, 100000 terms, $nnz non-zeros, 400 topics, one-pass, chunks of $chunk"
echo
echo "| run | wall s | vs in-process 1 thread | client RSS MiB | dispatcher RSS MiB | worker RSS MiB |"
echo "|---|---|---|---|---|---|"
base=$(awk '$1 == "in-process-1-thread" { print $2 }' "$logs/results")
one=$(awk '$1 == "cluster-1-worker" { print $2 }' "$logs/results")
while read -r name seconds client dispatcher workers; do
    printf "| %s | %.1f | %.2fx | %s | %s | %s |\n" "$name" "$seconds" "$(awk "BEGIN { print $base / $seconds }")" \
        "$client" "$dispatcher" "$workers"
done <"$logs/results"
two=$(awk '$1 == "cluster-2-workers" { print $2 }' "$logs/results")
one_shared=$(awk '$1 == "cluster-1-worker-shared" { print $2 }' "$logs/results")
two_shared=$(awk '$1 == "cluster-2-workers-shared" { print $2 }' "$logs/results")
echo
printf "cluster, 1 worker vs in-process, 1 thread: %+.1f%% time (bound: at most +15%%)\n" "$(awk "BEGIN { print ($one / $base - 1) * 100 }")"
printf "cluster, 2 workers vs 1 worker, documents sent: %.2fx (bound: at least 1.7x)\n" "$(awk "BEGIN { print $one / $two }")"
printf "cluster, 2 workers vs 1 worker, shared storage: %.2fx (bound: at least 1.7x)\n" "$(awk "BEGIN { print $one_shared / $two_shared }")"
