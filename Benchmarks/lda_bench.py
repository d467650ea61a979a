"""LDA benchmark: Latent (release build) and gensim 4.4.0 on the same files, in one run.

    python lda_bench.py LATENT_BINARY DATA_DIR [--documents 200000] [--terms 50000] [--topics 100]
                        [--heldout 2000] [--systems latent,ldamodel,ldamulticore]
                        [--tomotopy-iterations 10,50,100]

Systems: `latent` (in-process, all cores), `latent:T` (T threads), `latent-passes:P` (P passes),
`latent-gensim` (gensim's settings: eta symmetric, 1/topics, and gamma threshold 0.001, where
Latent's defaults are 0.5 and 0.01),
`cluster:W:T` (a fresh dispatcher and W local workers of T threads each on loopback, the run
sent with `--distributed required`), `ldamodel`, `ldamulticore`, and `tomotopy` (its Gibbs
sampler at its defaults, alpha 0.1, eta 0.01, alpha optimised every 10 iterations, all cores,
one row per checkpoint of --tomotopy-iterations; its first row, 10, is one `train()` call at
its default; λ is its topic-word counts plus η, as its unnormalised distributions give).

The corpus is raw counts from Latent's generator (`latent-generate --raw`, an LDA-like process
with 100 latent topics and Zipf-shaped topic-word laws), DOCUMENTS documents for training and
the next HELDOUT documents of the same process for evaluation, generated under DATA_DIR and
never committed. Each system trains HELDOUT-free at its defaults with TOPICS topics, except that
evaluation during training is off for all (gensim's eval_every=10 would add its own perplexity
estimates to its time): Latent `latent lda`, gensim `LdaModel`, gensim `LdaMulticore(workers=2)`.

One evaluator scores every model: each model's λ, α and η go into a Latent model folder and
`latent evaluate` computes the bound of the held-out documents (each document's γ inferred
with 50 iterations to a threshold of 0.001 whatever the model's own settings, the same seed
for all). The figure compared is
the documents' part of the bound per word, which does not depend on the held-out set's size;
the full per-word bound (gensim's log_perplexity) is shown too.

"process s" is the wall time of the whole process (start-up, reading, training, saving);
"training s" is the training alone as each system logs or times it. Peak RSS from GNU time.
Prints a markdown table.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np


def run_measured(command, env=None):
    """Runs command; returns (stdout, stderr, wall seconds, peak RSS MiB)."""
    started = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "PEAK_RSS_KB %M"] + command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    rss = int(re.search(r"PEAK_RSS_KB (\d+)", result.stderr).group(1)) / 1024
    return result.stdout, result.stderr, seconds, rss


# Prefixed to each trainer below: writes a model as a Latent model folder (λ, α, η and
# model.json), for the common evaluator. `parameters` are the training settings to record.
EXPORT_MODEL = r'''
import json, os
import numpy as np

def export_model(folder, lam, alpha, eta, documents, updates, parameters):
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "lambda.npy"), lam.astype(np.float32))
    np.save(os.path.join(folder, "alpha.npy"), np.asarray(alpha, dtype=np.float32))
    np.save(os.path.join(folder, "eta.npy"), np.asarray(eta, dtype=np.float32))
    meta = {"format_version": 1, "kind": "lda", "terms": int(lam.shape[1]), "topics": int(lam.shape[0]),
            "documents_processed": int(documents), "updates": int(updates), "gamma_draws": 0,
            "dtype": "<f4", "eta_shape": "terms", "vocabulary": "",
            "parameters": dict(parameters, topics=int(lam.shape[0]), alpha="vector", eta="vector", eval_every=0,
                               seed="0", precision="float32")}
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(meta, f)
'''


TOMOTOPY_TRAINER = EXPORT_MODEL + r'''
import sys, time
import scipy.io, scipy.sparse
import tomotopy as tp
corpus_path, out, topics, checkpoints = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(x) for x in sys.argv[4].split(",")]
started = time.perf_counter()
matrix = scipy.sparse.csr_matrix(scipy.io.mmread(corpus_path))
terms = matrix.shape[1]
names = [str(i) for i in range(terms)]
model = tp.LDAModel(k=topics, seed=1)
for d in range(matrix.shape[0]):
    row = slice(matrix.indptr[d], matrix.indptr[d + 1])
    ids = np.repeat(matrix.indices[row], matrix.data[row].astype(np.int64))
    if len(ids):
        model.add_doc([names[i] for i in ids])
print("LOADING_S %.3f" % (time.perf_counter() - started), flush=True)
trained, training = 0, 0.0
for checkpoint in checkpoints:
    began = time.perf_counter()
    model.train(checkpoint - trained, workers=0)
    training += time.perf_counter() - began
    trained = checkpoint
    lam = np.full((topics, terms), model.eta, dtype=np.float32)
    columns = np.array([int(w) for w in model.used_vocabs])
    for k in range(topics):
        lam[k, columns] = model.get_topic_word_dist(k, normalize=False)
    # Recorded as gensim's default settings: tomotopy has none of these.
    export_model("%s@%d" % (out, checkpoint), lam, model.alpha, np.full(terms, model.eta), matrix.shape[0], 0,
                 {"chunk_size": 2000, "passes": 1, "update_every": 1, "decay": 0.5, "offset": 1.0, "iterations": 50,
                  "gamma_threshold": 0.001, "minimum_probability": 0.01})
    print("CHECKPOINT %d %.3f %.3f" % (checkpoint, training, time.perf_counter() - started), flush=True)
'''


def cluster_run(latent, workers, threads, command, logs):
    """Runs `command` (a `latent lda` command line) through a fresh dispatcher and `workers`
    local workers of `threads` threads each; returns run_measured's answer."""
    processes = []
    try:
        dispatcher_out = open(os.path.join(logs, "dispatcher.out"), "w+")
        dispatcher_log = open(os.path.join(logs, "dispatcher.log"), "w+")
        processes.append(subprocess.Popen([latent, "dispatcher", "--listen", "127.0.0.1:0"], stdout=dispatcher_out,
                                          stderr=dispatcher_log))
        address = None
        while address is None:
            with open(dispatcher_out.name) as f:
                found = re.search(r"listening on (\S+)", f.read())
            address = found.group(1) if found else None
            if address is None:
                if processes[0].poll() is not None:
                    sys.exit("the dispatcher exited: " + open(dispatcher_log.name).read()[-2000:])
                time.sleep(0.05)
        for w in range(workers):
            processes.append(subprocess.Popen(
                [latent, "worker", "--dispatcher", address, "--threads", str(threads), "--name", f"bench-{w}"],
                stdout=subprocess.DEVNULL, stderr=open(os.path.join(logs, f"worker{w}.log"), "w")))
        while open(dispatcher_log.name).read().count("registered:") < workers:
            time.sleep(0.05)
        return run_measured(command + ["--distributed", "required", "--dispatcher", address])
    finally:
        for process in processes:
            process.kill()
            process.wait()


GENSIM_TRAINER = EXPORT_MODEL + r'''
import sys, time
from gensim.corpora import MmCorpus
from gensim.models import LdaModel, LdaMulticore
corpus_path, out, kind, topics = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
corpus = MmCorpus(corpus_path)
started = time.perf_counter()
if kind == "ldamodel":
    model = LdaModel(corpus, num_topics=topics, eval_every=0, random_state=1)
else:
    model = LdaMulticore(corpus, num_topics=topics, workers=2, eval_every=0, random_state=1)
print("TRAINING_S %.3f" % (time.perf_counter() - started))
export_model(out, model.state.get_lambda(), model.alpha, model.eta, model.state.numdocs, model.num_updates,
             {"chunk_size": int(model.chunksize), "passes": int(model.passes), "update_every": int(model.update_every),
              "decay": float(model.decay), "offset": float(model.offset), "iterations": int(model.iterations),
              "gamma_threshold": float(model.gamma_threshold),
              "minimum_probability": float(model.minimum_probability)})
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("latent")
    parser.add_argument("data")
    parser.add_argument("--documents", type=int, default=200_000)
    parser.add_argument("--terms", type=int, default=50_000)
    parser.add_argument("--topics", type=int, default=100)
    parser.add_argument("--heldout", type=int, default=2000)
    parser.add_argument("--systems", default="latent,ldamodel,ldamulticore")
    parser.add_argument("--tomotopy-iterations", default="10,50,100")
    args = parser.parse_args()
    generate = os.path.join(os.path.dirname(args.latent), "latent-generate")
    os.makedirs(args.data, exist_ok=True)
    train = os.path.join(args.data, f"lda-{args.documents}-{args.terms}")
    held = os.path.join(args.data, f"lda-{args.documents}-{args.terms}-heldout")
    for prefix, count, first in ((train, args.documents, 0), (held, args.heldout, args.documents)):
        if not os.path.exists(prefix + ".mm"):
            subprocess.run([generate, "--out", prefix, "--documents", str(count), "--first", str(first),
                            "--terms", str(args.terms), "--topics", "100", "--raw"], check=True)
    runs = os.path.join(args.data, "lda-runs")
    os.makedirs(runs, exist_ok=True)
    print(f"corpus: {args.documents} documents x {args.terms} terms (raw counts), held out: the next {args.heldout}; "
          f"{args.topics} topics; {os.cpu_count()} cores", flush=True)
    rows = []
    def score(system, model, seconds, training, rss):
        evaluation = subprocess.run([args.latent, "evaluate", model, held + ".mm", "--json",
                                     "--iterations", "50", "--gamma-threshold", "0.001"], capture_output=True,
                                    text=True, check=True)
        scores = json.loads(evaluation.stdout)
        rows.append((system, seconds, training, rss, scores["document_per_word_bound"], scores["per_word_bound"]))
        print(f"{system}: process {seconds:.1f} s, training {training:.1f} s, peak {rss:.0f} MiB, "
              f"held-out document per-word bound {scores['document_per_word_bound']:.4f}", flush=True)

    for system in args.systems.split(","):
        model = os.path.join(runs, system.replace(":", "-") + ".lda")
        if system.startswith("latent") or system.startswith("cluster"):
            command = [args.latent, "lda", train + ".mm", "--vocab", train + ".vocab", "--topics", str(args.topics),
                       "--eval-every", "0", "--force", "--out", model]
            kind, _, setting = system.partition(":")
            if kind == "latent" and setting:
                command += ["--threads", setting]
            if kind == "latent-passes":
                command += ["--passes", setting]
            if kind == "latent-gensim":
                command += ["--eta", "symmetric", "--gamma-threshold", "0.001"]
            if kind == "cluster":
                workers, threads = (int(x) for x in setting.split(":"))
                logs = os.path.join(runs, system.replace(":", "-") + "-logs")
                os.makedirs(logs, exist_ok=True)
                _, err, seconds, rss = cluster_run(args.latent, workers, threads, command, logs)
            else:
                _, err, seconds, rss = run_measured(command + ["--distributed", "off"])
            training = float(re.search(r"LDA model trained on \d+ documents in all \(([\d.]+) s\)", err).group(1))
            score(system, model, seconds, training, rss)
        elif system == "tomotopy":
            out, err, seconds, rss = run_measured([sys.executable, "-c", TOMOTOPY_TRAINER, train + ".mm", model,
                                                   str(args.topics), args.tomotopy_iterations])
            loading = float(re.search(r"LOADING_S ([\d.]+)", out).group(1))
            for checkpoint, training, elapsed in re.findall(r"CHECKPOINT (\d+) ([\d.]+) ([\d.]+)", out):
                # Process time to this checkpoint: loading, training and the exports before it.
                score(f"tomotopy@{checkpoint}", f"{model}@{checkpoint}", float(elapsed), float(training), rss)
        else:
            out, err, seconds, rss = run_measured([sys.executable, "-c", GENSIM_TRAINER, train + ".mm", model, system,
                                                   str(args.topics)])
            training = float(re.search(r"TRAINING_S ([\d.]+)", out).group(1))
            score(system, model, seconds, training, rss)
    gensim = [r for r in rows if r[0] in ("ldamodel", "ldamulticore")]
    fastest = min(gensim, key=lambda r: r[1]) if gensim else None
    print()
    print("| system | process s | training s | peak RSS MiB | held-out per-word bound (documents' part) | held-out per-word bound | fastest gensim / this (process) |")
    print("|---|---|---|---|---|---|---|")
    for system, seconds, training, rss, document_bound, bound in rows:
        ratio = f"{fastest[1] / seconds:.2f}" if fastest else "-"
        print(f"| {system} | {seconds:.1f} | {training:.1f} | {rss:.0f} | {document_bound:.4f} | {bound:.4f} | {ratio} |")


if __name__ == "__main__":
    main()
