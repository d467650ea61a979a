"""The 1,000,000-document example, Latent and gensim 4.4.0 side by side in one run.

    python example_bench.py LATENT_BINARY [--documents 1000000] [--repeats 3]

Both train 200 topics, chunks of 20,000 documents, on the 9 Deerwester titles (the tutorial's
preprocessing) repeated to --documents documents, held in memory (gensim's
utils.RepeatCorpus; Latent's RepeatCorpus). Each run is a fresh process; the table gives the
median time of --repeats runs, counting only training (not start-up), and the largest peak
RSS. Prints a markdown table.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Interop"))
from deerwester import tutorial_texts  # noqa: E402


def gensim_run(documents):
    """Child process: train gensim, print seconds and the first two topics."""
    from gensim import corpora, utils
    from gensim.models import LsiModel

    texts = tutorial_texts()
    dictionary = corpora.Dictionary(texts)
    corpus = [dictionary.doc2bow(t) for t in texts]
    started = time.perf_counter()
    lsi = LsiModel(utils.RepeatCorpus(corpus, documents), id2word=dictionary, num_topics=200)
    seconds = time.perf_counter() - started
    print(f"seconds {seconds:.4f}")
    for number in range(2):
        print(lsi.print_topic(number, topn=5))


def run_with_rss(command):
    """Runs command; returns its output and peak RSS in MiB (GNU time measures exactly this child)."""
    result = subprocess.run(["/usr/bin/time", "-f", "PEAK_RSS_KB %M"] + command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {result.stderr}")
    rss = int(re.search(r"PEAK_RSS_KB (\d+)", result.stderr).group(1)) / 1024
    return result.stdout, rss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("latent")
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gensim-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gensim_child:
        gensim_run(args.documents)
        return

    rows = {}
    topics = {}
    for name, command in [
        ("Latent", [args.latent, "example", "--documents", str(args.documents), "--log-level", "warning"]),
        ("gensim 4.4.0", [sys.executable, __file__, args.latent, "--documents", str(args.documents), "--gensim-child"]),
    ]:
        times, peaks = [], []
        for _ in range(args.repeats):
            out, rss = run_with_rss(command)
            if name == "Latent":
                times.append(float(re.search(r"trained in ([0-9.]+) s", out).group(1)))
                topics[name] = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("topic #")][2:4]
            else:
                times.append(float(re.search(r"seconds ([0-9.]+)", out).group(1)))
                topics[name] = [line for line in out.splitlines() if "*" in line]
            peaks.append(rss)
        rows[name] = (statistics.median(times), max(peaks))

    print(f"{args.documents:,} documents (the 9 Deerwester titles repeated), 200 topics, chunks of 20,000, "
          f"median of {args.repeats} runs\n")
    print("| system | training seconds | documents/s | peak RSS MiB |")
    print("|---|---|---|---|")
    for name, (seconds, rss) in rows.items():
        print(f"| {name} | {seconds:.3f} | {args.documents / seconds:,.0f} | {rss:.0f} |")
    ratio = rows["gensim 4.4.0"][0] / rows["Latent"][0]
    print(f"\nLatent / gensim speed-up: {ratio:.1f}x")
    print("\nfirst two topics:")
    for name, lines in topics.items():
        for line in lines:
            print(f"  {name}: {line}")


if __name__ == "__main__":
    main()
