"""Wikipedia dumps to corpora (issue 16, must-show 4): `latent wiki` against gensim's make_wiki
recipe (WikiCorpus with its default processes, filter_extremes, MmCorpus.serialize, TF-IDF),
whole processes, on the same generated dumps, in one run.

Usage: wiki_bench.py LATENT LATENT_GENERATE DATA [--pages 55000,220000] [--seed 3]

For each size, a dump of that many pages is generated (latent-generate wiki, single-stream
.xml.bz2, and for the largest also the multistream form with its index), then each system
turns it into corpora. The outputs are compared (bag-of-words byte for byte), and one
markdown table is printed: XML size, seconds, speed-up, MB of XML per second per core, peak
memory; then the time extrapolated to the English Wikipedia's ~90 GB of XML by a line
through the sizes measured.
"""
import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lda_bench import run_measured  # noqa: E402

CORES = os.cpu_count() or 1
ENGLISH_XML_BYTES = 90e9


def generate(generator, path, pages, seed, multistream=False):
    if not os.path.exists(path):
        command = [generator, "wiki", "--out", path, "--pages", str(pages), "--seed", str(seed)]
        subprocess.run(command + (["--multistream"] if multistream else []), check=True, stdout=subprocess.DEVNULL)
    # The XML size: decompress and count.
    count = subprocess.run("bzip2 -dc '%s' | wc -c" % path, shell=True, capture_output=True, text=True, check=True)
    return int(count.stdout.strip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("latent")
    parser.add_argument("generator")
    parser.add_argument("data")
    parser.add_argument("--pages", default="55000,220000")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    folder = os.path.join(args.data, "wiki")
    os.makedirs(folder, exist_ok=True)
    sizes = [int(p) for p in args.pages.split(",")]
    rows, points = [], {"latent": [], "gensim": []}
    for pages in sizes:
        dump = os.path.join(folder, "bench-%d.xml.bz2" % pages)
        xml = generate(args.generator, dump, pages, args.seed)
        runs = os.path.join(folder, "runs-%d" % pages)
        shutil.rmtree(runs, ignore_errors=True)
        os.makedirs(runs)
        _, err, latent_s, latent_rss = run_measured([args.latent, "wiki", dump, "--out", os.path.join(runs, "latent")])
        articles = int(re.search(r"(\d+) articles of (\d+) pages", err).group(1))
        _, _, gensim_s, gensim_rss = run_measured([sys.executable, "-m", "gensim.scripts.make_wiki", dump,
                                                   os.path.join(runs, "gensim")])
        for suffix in ["_bow.mm", "_wordids.txt.bz2"]:
            if not filecmp.cmp(os.path.join(runs, "latent" + suffix), os.path.join(runs, "gensim" + suffix), shallow=False):
                sys.exit("%d pages: %s differs between Latent and gensim" % (pages, suffix))
        points["latent"].append((xml, latent_s))
        points["gensim"].append((xml, gensim_s))
        rows.append(("latent wiki", pages, articles, xml, latent_s, gensim_s / latent_s, latent_rss))
        rows.append(("gensim make_wiki", pages, articles, xml, gensim_s, 1.0, gensim_rss))
        if pages == max(sizes):
            multi = os.path.join(folder, "bench-%d-multistream.xml.bz2" % pages)
            generate(args.generator, multi, pages, args.seed, multistream=True)
            for threads in [1, CORES]:
                _, _, s, rss = run_measured([args.latent, "wiki", multi, "--out", os.path.join(runs, "multi"),
                                             "--threads", str(threads), "--force"])
                if not filecmp.cmp(os.path.join(runs, "latent_bow.mm"), os.path.join(runs, "multi_bow.mm"), shallow=False):
                    sys.exit("the multistream dump gave another corpus")
                rows.append(("latent wiki, multistream, %d thread%s" % (threads, "s" if threads > 1 else ""), pages,
                             articles, xml, s, gensim_s / s, rss))
            _, _, s, rss = run_measured([args.latent, "wiki", dump, "--out", os.path.join(runs, "single1"),
                                         "--threads", "1"])
            rows.append(("latent wiki, 1 thread", pages, articles, xml, s, gensim_s / s, rss))
        shutil.rmtree(runs, ignore_errors=True)

    print("machine: %d cores; outputs compared: _bow.mm and _wordids.txt.bz2 identical for every size\n" % CORES)
    print("| system | pages | articles | XML MB | s | speed-up over gensim | MB/s of XML per core | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, pages, articles, xml, seconds, speedup, rss in rows:
        print("| %s | %d | %d | %.0f | %.1f | %.1fx | %.2f | %.0f |" % (
            name, pages, articles, xml / 1e6, seconds, speedup, xml / 1e6 / seconds / CORES, rss))
    print()
    for system, measured in points.items():
        if len(measured) >= 2:
            (x0, t0), (x1, t1) = measured[0], measured[-1]
            slope = (t1 - t0) / (x1 - x0)
            estimate = t0 + slope * (ENGLISH_XML_BYTES - x0)
            print("%s: %.2f s per GB of XML between the sizes; the English Wikipedia (~90 GB of XML) in about %.1f hours"
                  % (system, slope * 1e9, estimate / 3600))


if __name__ == "__main__":
    main()
