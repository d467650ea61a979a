"""Corpus benchmark: Matrix Market parsing (Latent vs gensim's MmCorpus on the same file, in
one run), binary-format iteration, and peak memory of a full pass at 10,000 vs 1,000,000
documents.

    python corpus_bench.py LATENT_BINARY DATA_DIR [--documents 300000]

The data is generated here with a fixed seed (numpy), never committed. Prints a markdown table.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np


def generate(path, documents, terms, mean_length, seed):
    """A random bag-of-words corpus in gensim's Matrix Market layout (integer counts and reals)."""
    if os.path.exists(path):
        return
    rng = np.random.default_rng(seed)
    lengths = rng.poisson(mean_length, documents)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        total = int(lengths.sum())
        f.write("%%MatrixMarket matrix coordinate real general\n")
        header_pos = f.tell()
        f.write(" " * 50 + "\n")
        nnz = 0
        block = 20000
        for start in range(0, documents, block):
            rows = []
            for d in range(start, min(documents, start + block)):
                n = min(int(lengths[d]), terms)
                if n == 0:
                    continue
                ids = np.unique(rng.zipf(1.3, n * 2) % terms)[:n]
                weights = rng.random(len(ids))
                ids.sort()
                rows.append("".join("%d %d %r\n" % (d + 1, t + 1, float(w)) for t, w in zip(ids, weights)))
                nnz += len(ids)
            f.write("".join(rows))
        f.seek(header_pos)
        f.write("%d %d %d" % (documents, terms, nnz))
    os.replace(tmp, path)


def run_measured(command):
    """Wall seconds and peak RSS (MiB) of a child process. The RSS comes from GNU time, which
    execs the command itself: rusage taken here would include the pre-exec fork of this
    Python process."""
    start = time.perf_counter()
    process = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{process.stderr}")
    peak_kib = int(process.stderr.strip().splitlines()[-1])
    return elapsed, peak_kib / 1024, process.stdout


def best_of(runs, command):
    results = [run_measured(command) for _ in range(runs)]
    return min(results, key=lambda r: r[0])


GENSIM_ITERATE = """
import sys, time, logging
from gensim.corpora import MmCorpus
corpus = MmCorpus(sys.argv[1])
start = time.perf_counter()
documents = 0
for doc in corpus:
    documents += 1
print(documents, time.perf_counter() - start)
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("latent")
    parser.add_argument("data")
    parser.add_argument("--documents", type=int, default=300_000)
    args = parser.parse_args()
    os.makedirs(args.data, exist_ok=True)
    mm = os.path.join(args.data, f"bench-{args.documents}.mm")
    print(f"generating {mm} ...", file=sys.stderr)
    generate(mm, args.documents, 100_000, 50, seed=1)
    size_mb = os.path.getsize(mm) / 1e6
    lbc = mm[:-3] + ".lbc"
    if not os.path.exists(lbc):
        subprocess.run([args.latent, "convert", mm, lbc, "--log-level", "warning"], check=True)

    rows = []
    g_wall, g_rss, g_out = best_of(2, [sys.executable, "-c", GENSIM_ITERATE, mm])
    g_docs, g_seconds = g_out.split()
    g_seconds = float(g_seconds)
    rows.append(("gensim 4.4.0 MmCorpus iteration", size_mb, g_seconds, int(g_docs), g_rss))
    l_wall, l_rss, _ = best_of(3, [args.latent, "info", mm, "--log-level", "warning"])
    rows.append(("Latent Matrix Market pass (`latent info`)", size_mb, l_wall, args.documents, l_rss))
    b_wall, b_rss, _ = best_of(3, [args.latent, "info", lbc, "--log-level", "warning"])
    rows.append(("Latent binary pass (`latent info` on .lbc, checksum verified)", os.path.getsize(lbc) / 1e6, b_wall, args.documents, b_rss))

    print(f"\nfile: {args.documents} documents x 100,000 terms, {size_mb:.0f} MB of Matrix Market text\n")
    print("| reader | file MB | seconds | MB/s | documents/s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for name, mb, seconds, docs, rss in rows:
        print(f"| {name} | {mb:.0f} | {seconds:.2f} | {mb / seconds:.0f} | {docs / seconds:,.0f} | {rss:.0f} |")
    print(f"\nLatent / gensim speed-up on Matrix Market: {g_seconds / l_wall:.1f}x (gensim timed inside Python without start-up; Latent as a whole process)")

    # Memory stays flat: a full pass over 10,000 and over 1,000,000 documents.
    print("\n| pass over | documents | peak RSS MiB |")
    print("|---|---|---|")
    for documents in (10_000, 1_000_000):
        path = os.path.join(args.data, f"memory-{documents}.mm")
        generate(path, documents, 100_000, 5, seed=2)
        _, rss, _ = run_measured([args.latent, "info", path, "--log-level", "warning"])
        print(f"| `latent info` (Matrix Market) | {documents:,} | {rss:.0f} |")


if __name__ == "__main__":
    main()
