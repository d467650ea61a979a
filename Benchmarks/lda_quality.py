"""LDA quality on a corpus with planted topics (issue 14, must-show 2): Latent and gensim 4.4.0
on the same files, one evaluator, and how well each recovers the planted topics.

    python lda_quality.py LATENT_BINARY DATA_DIR [--documents 50000] [--terms 20000] [--topics 50]
                          [--settings "gensim defaults" | "--update-every 4" ...]

The corpus follows LDA's own generative story with numpy (seed 1): topics β_k ~ Dirichlet(0.02)
over the terms, documents θ_d ~ Dirichlet(0.1) over the topics, lengths Poisson(150), words
drawn from θ_d β; DOCUMENTS for training and 2,000 more held out, written as Matrix Market
with the planted β beside them. Every system trains with TOPICS topics at its defaults
(evaluation during training off): Latent `latent lda` (with any extra options given by
--latent-options), gensim `LdaModel` and `LdaMulticore(workers=2)`. `latent evaluate` scores
each model on the held-out documents (the documents' part of the bound per word); recovery is,
for each planted topic, the smallest Jensen-Shannon divergence (natural log) to a learned topic.
`latent-gensim` is Latent at gensim's settings (eta symmetric, 1/topics, and gamma threshold
0.001; Latent's defaults are 0.5 and 0.01). Every model is scored with 50 iterations to 0.001.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lda_bench import GENSIM_TRAINER, run_measured  # noqa: E402


def write_mm(path, documents, terms):
    entries = sum(len(d) for d in documents)
    with open(path, "w") as f:
        f.write("%%MatrixMarket matrix coordinate real general\n")
        f.write(f"{len(documents)} {terms} {entries}\n")
        for i, document in enumerate(documents):
            for term, count in document:
                f.write(f"{i + 1} {term + 1} {count}\n")


def generate(prefix, documents, heldout, terms, topics):
    if os.path.exists(prefix + ".beta.npy"):
        return np.load(prefix + ".beta.npy")
    rng = np.random.default_rng(1)
    beta = rng.dirichlet(np.full(terms, 0.02), size=topics)
    corpus = []
    for _ in range(documents + heldout):
        theta = rng.dirichlet(np.full(topics, 0.1))
        length = max(1, rng.poisson(150))
        counts = rng.multinomial(length, theta @ beta)
        nonzero = np.nonzero(counts)[0]
        corpus.append([(int(t), int(counts[t])) for t in nonzero])
    write_mm(prefix + ".mm", corpus[:documents], terms)
    write_mm(prefix + "-heldout.mm", corpus[documents:], terms)
    np.save(prefix + ".beta.npy", beta)
    return beta


def jensen_shannon(p, q):
    m = (p + q) / 2
    def kl(a, b):
        mask = a > 0
        return np.sum(a[mask] * np.log(a[mask] / b[mask]))
    return (kl(p, m) + kl(q, m)) / 2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("latent")
    parser.add_argument("data")
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--terms", type=int, default=20_000)
    parser.add_argument("--topics", type=int, default=50)
    parser.add_argument("--latent-options", default="", help="extra options for latent lda, e.g. '--update-every 4'")
    parser.add_argument("--systems", default="latent,latent-gensim,ldamodel,ldamulticore")
    args = parser.parse_args()
    os.makedirs(args.data, exist_ok=True)
    prefix = os.path.join(args.data, f"planted-{args.documents}-{args.terms}-{args.topics}")
    beta = generate(prefix, args.documents, 2000, args.terms, args.topics)
    runs = os.path.join(args.data, "lda-quality-runs")
    os.makedirs(runs, exist_ok=True)
    print(f"planted corpus: {args.documents} documents x {args.terms} terms, {args.topics} topics; 2,000 held out", flush=True)
    print()
    print("| system | process s | peak RSS MiB | held-out per-word bound (documents' part) | planted topics within JS 0.1 | worst JS | median JS |")
    print("|---|---|---|---|---|---|---|")
    for system in args.systems.split(","):
        model = os.path.join(runs, system + ".lda")
        if system in ("latent", "latent-gensim"):
            command = [args.latent, "lda", prefix + ".mm", "--topics", str(args.topics), "--eval-every", "0",
                       "--distributed", "off", "--force", "--out", model] + args.latent_options.split()
            if system == "latent-gensim":
                command += ["--eta", "symmetric", "--gamma-threshold", "0.001"]
            _, _, seconds, rss = run_measured(command)
        else:
            _, _, seconds, rss = run_measured([sys.executable, "-c", GENSIM_TRAINER, prefix + ".mm", model, system,
                                               str(args.topics)])
        scores = json.loads(subprocess.run([args.latent, "evaluate", model, prefix + "-heldout.mm", "--json",
                                                    "--iterations", "50", "--gamma-threshold", "0.001"],
                                           capture_output=True, text=True, check=True).stdout)
        lam = np.load(os.path.join(model, "lambda.npy")).astype(np.float64)
        learned = lam / lam.sum(axis=1, keepdims=True)
        best = np.array([min(jensen_shannon(planted, topic) for topic in learned) for planted in beta])
        name = system + (f" ({args.latent_options})" if system.startswith("latent") and args.latent_options else "")
        print(f"| {name} | {seconds:.1f} | {rss:.0f} | {scores['document_per_word_bound']:.4f} | "
              f"{int((best < 0.1).sum())} of {len(best)} | {best.max():.4f} | {np.median(best):.4f} |", flush=True)


if __name__ == "__main__":
    main()
