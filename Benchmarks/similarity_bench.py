"""Similarity queries (issue 17, must-show 5): Latent's index against gensim 4.4.0's sharded
`Similarity` on the same vectors, in one run.

Usage: similarity_bench.py LATENT DATA [--documents 1000000] [--dimension 400] [--single 100]
                           [--batch 1000] [--all-pairs 50000] [--seed 5]

Vectors (float32, unit length once indexed) are drawn around 2,000 centres so that
neighbours mean something; the same .npy files feed both systems. Measured, each step in
its own process (peak memory per process):
  - building the index (Latent: `latent index vectors.npy`; gensim: `Similarity` with
    shards of 32768 documents, gensim's default);
  - single queries: --single vectors one at a time (Latent: `latent similar --queries
    --batch 1`, the search time it reports; gensim: `index[vector]`, timed around the loop);
  - a batch of --batch queries at once (Latent `--batch`; gensim `index[matrix]`);
  - all pairs, top 10, on an index of the first --all-pairs documents (Latent `--all`;
    gensim iterating the index, which queries it with itself in chunks);
  - the query server under 8 concurrent clients (wrk, from Debian), POST /similar with a
    vector, for 20 s.
Every top 10 of Latent is checked against gensim's (same documents, similarities within
1e-5, in gensim's order). Printed: one markdown table, with the floors: single query, the
index's bytes at the measured memory bandwidth; batch and all pairs, their flops at the
measured sgemm speed.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lda_bench import run_measured  # noqa: E402


def generate(folder, documents, dimension, queries, seed):
    vectors = os.path.join(folder, "vectors-%d-%d.npy" % (documents, dimension))
    query_file = os.path.join(folder, "queries-%d-%d.npy" % (queries, dimension))
    if not os.path.exists(vectors) or not os.path.exists(query_file):
        rng = np.random.default_rng(seed)
        centres = rng.normal(size=(2000, dimension)).astype(np.float32)
        out = np.lib.format.open_memmap(vectors + ".tmp.npy", mode="w+", dtype=np.float32, shape=(documents, dimension))
        for start in range(0, documents, 100000):
            count = min(100000, documents - start)
            which = rng.integers(0, len(centres), size=count)
            out[start:start + count] = centres[which] + 0.8 * rng.normal(size=(count, dimension)).astype(np.float32)
        out.flush()
        del out
        os.replace(vectors + ".tmp.npy", vectors)
        which = rng.integers(0, len(centres), size=queries)
        q = centres[which] + 0.8 * rng.normal(size=(queries, dimension)).astype(np.float32)
        np.save(query_file, q.astype(np.float32))
    return vectors, query_file


GENSIM_BUILD = r'''
import sys, time, numpy as np
from gensim import similarities
vectors, prefix = sys.argv[1], sys.argv[2]
data = np.load(vectors, mmap_mode="r")
started = time.perf_counter()
# gensim takes numpy rows as they are (it normalises only sparse documents): unit rows, as its users pass.
index = similarities.Similarity(prefix, (row / np.linalg.norm(row) for row in data), num_features=data.shape[1], num_best=10,
                                shardsize=32768)
index.save(prefix + ".index")
print("SECONDS", time.perf_counter() - started)
'''

GENSIM_QUERY = r'''
import sys, time, json, numpy as np
from gensim import similarities
prefix, queries, mode, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
index = similarities.Similarity.load(prefix + ".index")
index.num_best = 10
q = np.load(queries).astype(np.float32)
q /= np.linalg.norm(q, axis=1, keepdims=True)
if mode == "single":
    index[q[0]]  # shards opened once, as a server would have them
    started = time.perf_counter()
    results = [index[v] for v in q]
    seconds = time.perf_counter() - started
elif mode == "batch":
    index[q[:2]]
    started = time.perf_counter()
    results = index[q]
    seconds = time.perf_counter() - started
else:
    started = time.perf_counter()
    results = [r for r in index]
    seconds = time.perf_counter() - started
json.dump([[[int(d), float(s)] for d, s in r] for r in results], open(out, "w"))
print("SECONDS", seconds)
'''

BANDWIDTH = r'''
import os, time, numpy as np
from concurrent.futures import ProcessPoolExecutor

def read(_):
    a = np.ones(1 << 27, dtype=np.float32)  # 512 MiB per process
    a.sum()
    started = time.perf_counter(); a.sum(); return a.nbytes, time.perf_counter() - started, started

if __name__ == "__main__":
    cores = os.cpu_count() or 1
    best = 0
    with ProcessPoolExecutor(cores) as pool:
        for _ in range(3):
            runs = list(pool.map(read, range(cores)))
            # All processes read at once: their bytes over the longest of their times.
            best = max(best, sum(r[0] for r in runs) / max(r[1] for r in runs))
    b = np.ones((4096, 4096), dtype=np.float32)
    s = min(t for t in [(lambda: (lambda t0: (b @ b, time.perf_counter() - t0)[1])(time.perf_counter()))() for _ in range(3)])
    print("BANDWIDTH", best, "SGEMM", 2 * 4096 ** 3 / s)
'''


def latent_results(path):
    """The top lists of a `latent similar --out X.jsonl`, by query."""
    results = []
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            results.append([[r["document"], r["score"]] for r in row["results"]])
    return results


def compare(ours, theirs, what):
    mismatches = 0
    for q, (a, b) in enumerate(zip(ours, theirs)):
        last = abs(b[-1][1]) if b else 0
        expected = {d: s for d, s in b}
        for rank, (d, s) in enumerate(a):
            if rank < len(b) and abs(s - b[rank][1]) > 1e-5:
                mismatches += 1
            elif d in expected and abs(expected[d] - s) > 1e-5:
                mismatches += 1
            elif d not in expected and abs(abs(s) - last) > 1e-5:
                mismatches += 1
    if len(ours) != len(theirs):
        sys.exit("%s: %d result lists from Latent, %d from gensim" % (what, len(ours), len(theirs)))
    print("%s: %d queries compared, %d mismatches" % (what, len(ours), mismatches), file=sys.stderr)
    return mismatches


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("latent")
    parser.add_argument("data")
    parser.add_argument("--documents", type=int, default=1000000)
    parser.add_argument("--dimension", type=int, default=400)
    parser.add_argument("--single", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--all-pairs", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--server-seconds", type=int, default=20)
    args = parser.parse_args()
    folder = os.path.join(args.data, "similarity")
    runs = os.path.join(folder, "runs")
    os.makedirs(runs, exist_ok=True)
    vectors, queries = generate(folder, args.documents, args.dimension, args.batch, args.seed)
    single = os.path.join(runs, "single.npy")
    np.save(single, np.load(queries)[:args.single])
    pairs_vectors = os.path.join(runs, "pairs.npy")
    np.save(pairs_vectors, np.load(vectors, mmap_mode="r")[:args.all_pairs])
    n, d = args.documents, args.dimension
    index_bytes = n * d * 4
    rows = []

    bandwidth_script = os.path.join(runs, "bandwidth.py")
    with open(bandwidth_script, "w") as f:
        f.write(BANDWIDTH)
    out = subprocess.run([sys.executable, bandwidth_script], capture_output=True, text=True, check=True).stdout
    found = re.search(r"BANDWIDTH (\S+) SGEMM (\S+)", out)
    bandwidth, sgemm = float(found.group(1)), float(found.group(2))

    def seconds_of(stdout):
        return float(re.search(r"SECONDS ([0-9.]+)", stdout).group(1))

    def latent_search(index, query_file, batch, out):
        _, err, process_s, rss = run_measured([args.latent, "similar", index, "--queries", query_file, "--batch", str(batch),
                                               "--top", "10", "--gensim-order", "--out", out, "--force"])
        search_s = float(re.search(r"in ([0-9.]+) s \(", err).group(1))
        return search_s, process_s, rss

    # Building.
    latent_index = os.path.join(runs, "latent.index")
    _, _, latent_build, latent_build_rss = run_measured([args.latent, "index", vectors, "--out", latent_index])
    gensim_prefix = os.path.join(runs, "gensim")
    stdout, _, gensim_build_process, gensim_build_rss = run_measured([sys.executable, "-c", GENSIM_BUILD, vectors, gensim_prefix])
    rows.append(("build the index", "%d x %d" % (n, d), gensim_build_process, latent_build, gensim_build_rss, latent_build_rss, "-"))

    # Single queries.
    ours_s, _, ours_rss = latent_search(latent_index, single, 1, os.path.join(runs, "latent-single.jsonl"))
    stdout, _, _, theirs_rss = run_measured([sys.executable, "-c", GENSIM_QUERY, gensim_prefix, single, "single",
                                             os.path.join(runs, "gensim-single.json")])
    theirs_s = seconds_of(stdout)
    mismatches = compare(latent_results(os.path.join(runs, "latent-single.jsonl")),
                         json.load(open(os.path.join(runs, "gensim-single.json"))), "single")
    floor = index_bytes / bandwidth
    half_floor = index_bytes / 2 / bandwidth
    rows.append(("one query (ms, mean of %d)" % args.single, "%d x %d" % (n, d), theirs_s / args.single * 1000,
                 ours_s / args.single * 1000, theirs_rss, ours_rss,
                 "%.1f ms (the %.2f GB of float32 at %.1f GB/s); %.1f ms for the %.2f GB half-precision copy Latent streams"
                 % (floor * 1000, index_bytes / 1e9, bandwidth / 1e9, half_floor * 1000, index_bytes / 2e9)))

    # A batch.
    ours_s, _, ours_rss = latent_search(latent_index, queries, args.batch, os.path.join(runs, "latent-batch.jsonl"))
    stdout, _, _, theirs_rss = run_measured([sys.executable, "-c", GENSIM_QUERY, gensim_prefix, queries, "batch",
                                             os.path.join(runs, "gensim-batch.json")])
    theirs_s = seconds_of(stdout)
    mismatches += compare(latent_results(os.path.join(runs, "latent-batch.jsonl")),
                          json.load(open(os.path.join(runs, "gensim-batch.json"))), "batch")
    flops = 2.0 * n * d * args.batch
    rows.append(("%d queries at once (s)" % args.batch, "%d x %d" % (n, d), theirs_s, ours_s, theirs_rss, ours_rss,
                 "%.2f s (%.1f Gflop at %.0f Gflop/s)" % (flops / sgemm, flops / 1e9, sgemm / 1e9)))

    # All pairs.
    m = args.all_pairs
    pairs_index = os.path.join(runs, "pairs.index")
    run_measured([args.latent, "index", pairs_vectors, "--out", pairs_index])
    _, err, ours_process, ours_rss = run_measured([args.latent, "similar", pairs_index, "--all", "--top", "10", "--gensim-order",
                                                   "--out", os.path.join(runs, "latent-pairs.jsonl"), "--force"])
    pairs_prefix = os.path.join(runs, "gensim-pairs")
    run_measured([sys.executable, "-c", GENSIM_BUILD, pairs_vectors, pairs_prefix])
    stdout, _, _, theirs_rss = run_measured([sys.executable, "-c", GENSIM_QUERY, pairs_prefix, single, "all",
                                             os.path.join(runs, "gensim-pairs.json")])
    theirs_s = seconds_of(stdout)
    mismatches += compare(latent_results(os.path.join(runs, "latent-pairs.jsonl")),
                          json.load(open(os.path.join(runs, "gensim-pairs.json"))), "all pairs")
    flops = 2.0 * m * m * d
    rows.append(("all pairs, top 10 (s; Latent: whole process)", "%d x %d" % (m, d), theirs_s, ours_process, theirs_rss, ours_rss,
                 "%.2f s (%.0f Gflop at %.0f Gflop/s)" % (flops / sgemm, flops / 1e9, sgemm / 1e9)))

    # Larger than the address space allowed: the same single queries under ulimit -v below
    # the index's size, so that shards are mapped one at a time.
    limit_kb = 1000000
    limited = ""
    if index_bytes > limit_kb * 1024:
        command = "ulimit -v %d; exec %s similar %s --queries %s --batch 1 --top 10 --gensim-order --out %s --force" % (
            limit_kb, args.latent, latent_index, single, os.path.join(runs, "latent-limited.jsonl"))
        _, err, _, rss = run_measured(["bash", "-c", command])
        limited_s = float(re.search(r"in ([0-9.]+) s \(", err).group(1))
        same = latent_results(os.path.join(runs, "latent-limited.jsonl")) == latent_results(os.path.join(runs, "latent-single.jsonl"))
        if not same:
            mismatches += 1
        limited = ("under `ulimit -v %d` (%.2f GB of address space for a %.2f GB index): one query %.1f ms (mean of %d), peak RSS %.0f MiB, results %s"
                   % (limit_kb, limit_kb * 1024 / 1e9, index_bytes / 1e9, limited_s / args.single * 1000, args.single, rss,
                      "the same as without the limit" if same else "DIFFERENT"))

    # The server under 8 clients.
    server_line = serve_and_load(args, latent_index, queries, runs)

    print("vectors: %d x %d float32 (%.2f GB), around 2,000 centres; queries from the same mixture; 2 cores" % (n, d, index_bytes / 1e9))
    print("measured: memory bandwidth %.1f GB/s (numpy sums of 512 MiB on every core at once), sgemm %.0f Gflop/s (numpy, 4096^3)" % (bandwidth / 1e9, sgemm / 1e9))
    print()
    print("| step | shape | gensim | Latent | gensim / Latent | gensim peak RSS MiB | Latent peak RSS MiB | floor |")
    print("|---|---|---|---|---|---|---|---|")
    for step, shape, theirs, ours, theirs_rss, ours_rss, floor in rows:
        print("| %s | %s | %.2f | %.2f | %.1f | %.0f | %.0f | %s |" % (step, shape, theirs, ours, theirs / ours, theirs_rss, ours_rss, floor))
    print()
    if limited:
        print(limited)
    print(server_line)
    print("top-10 mismatches against gensim: %d" % mismatches)


def serve_and_load(args, index, queries, runs):
    q = np.load(queries)[0]
    script = os.path.join(runs, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        f.write("wrk.body = '%s'\n" % json.dumps({"vector": [float(x) for x in q], "top": 10}))
    server = subprocess.Popen([args.latent, "serve", index, "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    try:
        address = None
        for line in server.stderr:
            found = re.search(r"on http://([0-9.]+:[0-9]+)/", line)
            if found:
                address = found.group(1)
                break
        if address is None:
            sys.exit("the server did not start")
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-d", json.dumps({"vector": [float(x) for x in q]}), "http://%s/similar" % address], check=True)
        out = subprocess.run(["wrk", "-t", "2", "-c", "8", "-d", "%ds" % args.server_seconds, "--latency", "-s", script,
                              "http://%s/similar" % address], capture_output=True, text=True, check=True).stdout
    finally:
        server.terminate()
        server.wait(timeout=60)
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)
    p50 = re.search(r"50%\s+([0-9.]+\w+)", out).group(1)
    p99 = re.search(r"99%\s+([0-9.]+\w+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return "server (`latent serve`, POST /similar with a vector, top 10, %d x %d index), wrk with 8 connections for %d s: %s requests/s, latency p50 %s, p99 %s, %s non-2xx" % (
        args.documents, args.dimension, args.server_seconds, rps, p50, p99, errors.group(1) if errors else "0")


if __name__ == "__main__":
    main()
