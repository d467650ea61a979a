"""Two builds of Latent on the same files, in one run: the speed and the bits of LSI models.

    python compare_engines.py OLD_LATENT NEW_LATENT DATA_DIR [--runs 3] [--documents 100000]

Cases (b) and (c) of BENCHMARKS.md on wiki-small (generated under DATA_DIR by
latent-generate, fixed seed, never committed): one-pass at Latent's defaults and multi-pass
with 2 power iterations, 400 topics, each from Matrix Market and from the binary format.
The two builds run alternately, `--runs` times each, so drifts of the machine affect both
alike; the median training time (the one Latent logs for reading and training) is
compared. The models of the two builds are compared bit for bit (same seed, same threads).
"""
import argparse
import hashlib
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def train(latent, corpus, vocab, out, extra):
    command = [latent, "lsi", corpus, "--vocab", vocab, "--topics", "400", "--out", out, "--log-level", "info"] + extra
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    seconds = float(re.search(r"LSI model now has .* \(([0-9.]+) s\)", result.stderr).group(1))
    digest = hashlib.sha256()
    for name in ("u.npy", "s.npy"):
        with open(os.path.join(out, name), "rb") as f:
            digest.update(f.read())
    return seconds, wall, digest.hexdigest()[:16]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("data")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--cases", default="b-mm,b-lbc,c-mm,c-lbc", help="which of b-mm, b-lbc, c-mm, c-lbc to run")
    args = parser.parse_args()
    os.makedirs(args.data, exist_ok=True)
    generator = os.path.join(os.path.dirname(args.new), "latent-generate")
    prefix = os.path.join(args.data, f"wiki-small-{args.documents}")
    if not os.path.exists(prefix + ".mm"):
        subprocess.run([generator, "--out", prefix, "--documents", str(args.documents)], check=True)
    if not os.path.exists(prefix + ".lbc"):
        subprocess.run([args.new, "convert", prefix + ".mm", prefix + ".lbc", "--log-level", "warning"], check=True)
    cases = [
        ("b-mm", "(b) one-pass, defaults, Matrix Market", prefix + ".mm", []),
        ("b-lbc", "(b) one-pass, defaults, binary", prefix + ".lbc", []),
        ("c-mm", "(c) multi-pass, 2 power iterations, Matrix Market", prefix + ".mm", ["--multipass"]),
        ("c-lbc", "(c) multi-pass, 2 power iterations, binary", prefix + ".lbc", ["--multipass"]),
    ]
    wanted = set(args.cases.split(","))
    cases = [(title, corpus, extra) for key, title, corpus, extra in cases if key in wanted]
    print(f"wiki-small: {args.documents} documents x 100000 terms, 400 topics; {args.runs} runs of each build, alternating\n")
    print("| case | old training s (runs) | new training s (runs) | new / old (medians) | models bit-identical |")
    print("|---|---|---|---|---|")
    for title, corpus, extra in cases:
        times = {"old": [], "new": []}
        digests = {"old": set(), "new": set()}
        for _ in range(args.runs):
            for name in ("old", "new"):
                seconds, _, digest = train(getattr(args, name), corpus, prefix + ".vocab",
                                           os.path.join(args.data, f"compare-{name}.lsi"), extra)
                times[name].append(seconds)
                digests[name].add(digest)
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        same = "yes" if digests["old"] == digests["new"] and len(digests["new"]) == 1 else f"no ({digests})"
        print(f"| {title} | {old:.2f} ({', '.join(f'{t:.2f}' for t in times['old'])}) | "
              f"{new:.2f} ({', '.join(f'{t:.2f}' for t in times['new'])}) | {new / old:.3f} | {same} |", flush=True)


main()
