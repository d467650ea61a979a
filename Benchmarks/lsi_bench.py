"""LSI benchmarks: Latent (release build) and gensim 4.4.0 on the same files, in one run.

    python lsi_bench.py LATENT_BINARY DATA_DIR [--cases a,b,c] [--documents 100000] [--topics 400]

Cases (see issue 6 and BENCHMARKS.md):
  a  the 1,000,000-document example as a Matrix Market file (the 9 Deerwester titles repeated), 200 topics
  b  wiki-small, one-pass, 400 topics: each system's defaults, then both at chunks of 20,000
  c  wiki-small, multi-pass with 2 power iterations, from Matrix Market and (Latent) from the binary format

Data is generated under DATA_DIR with Latent's generator (`latent-generate`, fixed seed) and
never committed. Accuracy is measured against a near-exact reference of the same matrix: a
randomized SVD with 10 power iterations and 200 extra dimensions (scipy/numpy), cached in
DATA_DIR. Each run is a fresh process. "training s" has the same scope for both systems:
reading and training (gensim: its LsiModel call; Latent: the time it logs for the same
work); "process s" is the wall time of the whole process (start-up, loading, saving the
model). Peak RSS from GNU time. Prints markdown tables.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Tests", "Interop"))
from deerwester import tutorial_texts  # noqa: E402


def run_measured(command):
    """Runs command; returns (stdout, stderr, wall seconds, peak RSS MiB)."""
    started = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "PEAK_RSS_KB %M"] + command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    rss = int(re.search(r"PEAK_RSS_KB (\d+)", result.stderr).group(1)) / 1024
    return result.stdout, result.stderr, seconds, rss


# ---------------------------------------------------------------- data

def deerwester_million(data, documents=1_000_000):
    """The tutorial corpus repeated, as Matrix Market, and its vocabulary (gensim's formats)."""
    from gensim import corpora
    path = os.path.join(data, "deerwester-1m.mm")
    vocab = os.path.join(data, "deerwester.vocab")
    if os.path.exists(path) and os.path.exists(vocab):
        return path, vocab
    texts = tutorial_texts()
    dictionary = corpora.Dictionary(texts)
    dictionary.save_as_text(vocab)
    bow = [dictionary.doc2bow(t) for t in texts]
    nnz = sum(len(bow[d % 9]) for d in range(documents))
    with open(path + ".tmp", "w") as f:
        f.write("%%MatrixMarket matrix coordinate real general\n")
        f.write(f"{documents} {len(dictionary)} {nnz}\n")
        for d in range(documents):
            f.write("".join(f"{d + 1} {t + 1} {w}\n" for t, w in bow[d % 9]))
    os.rename(path + ".tmp", path)
    return path, vocab


def wiki_small(data, generator, latent, documents):
    prefix = os.path.join(data, f"wiki-small-{documents}")
    if not os.path.exists(prefix + ".mm"):
        subprocess.run([generator, "--out", prefix, "--documents", str(documents)], check=True)
    if not os.path.exists(prefix + ".lbc"):
        subprocess.run([latent, "convert", prefix + ".mm", prefix + ".lbc", "--log-level", "warning"], check=True)
    return prefix


def load_matrix(path):
    """The corpus as a scipy CSC matrix, terms x documents."""
    from gensim import matutils
    from gensim.corpora import MmCorpus
    corpus = MmCorpus(path)
    return matutils.corpus2csc(corpus, num_terms=corpus.num_terms, dtype=np.float64).tocsc()


def parallel_product(csr, dense):
    """`csr @ dense` on every core: SciPy's sparse product runs on one thread but releases
    the GIL, so blocks of rows multiply side by side; the same values as one product."""
    workers = os.cpu_count() or 1
    if workers == 1 or csr.shape[0] < 2 * workers:
        return csr @ dense
    bounds = np.linspace(0, csr.shape[0], workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(lambda i: csr[bounds[i]:bounds[i + 1]] @ dense, range(workers)))
    return np.vstack(parts)


def reference(data, prefix, matrix, k, extra=200, iterations=10, seed=0):
    """Near-exact top-k SVD of `matrix`: randomized, 10 power iterations, cached."""
    cache = f"{prefix}.reference-k{k}.npz"
    if os.path.exists(cache):
        stored = np.load(cache)
        return stored["u"], stored["s"], str(stored["method"])
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    csr = matrix.tocsr()
    transposed = csr.T.tocsr()
    y = parallel_product(csr, rng.standard_normal((matrix.shape[1], k + extra)))
    q, _ = np.linalg.qr(y)
    for _ in range(iterations):
        z, _ = np.linalg.qr(parallel_product(transposed, q))
        q, _ = np.linalg.qr(parallel_product(csr, z))
    b = parallel_product(transposed, q).T
    ub, s, _ = np.linalg.svd(b, full_matrices=False)
    u = q @ ub[:, :k]
    method = f"randomized SVD, {iterations} power iterations, {extra} extra dimensions ({time.perf_counter() - started:.0f} s)"
    np.savez(cache, u=u, s=s[:k], method=method)
    return u, s[:k], method


def accuracy(matrix, u_ref, s_ref, u, s):
    """Singular-value errors, subspace similarity and residual ratio against the reference."""
    k = min(len(s_ref), len(s))
    relative = np.abs(s[:k] - s_ref[:k]) / s_ref[:k]
    similarity = float(np.sum((u_ref[:, :k].T @ u[:, :k]) ** 2) / k)
    total = float(matrix.multiply(matrix).sum())
    at = matrix.T.tocsr()
    captured = float(np.sum((at @ u[:, :k]) ** 2))
    captured_ref = float(np.sum((at @ u_ref[:, :k]) ** 2))
    residual_ratio = np.sqrt(max(total - captured, 0)) / np.sqrt(max(total - captured_ref, 1e-300))
    return {"max_sv_error": float(relative.max()), "mean_sv_error": float(relative.mean()),
            "last_sv_error": float((s[k - 1] - s_ref[k - 1]) / s_ref[k - 1]),
            "subspace": similarity, "residual_ratio": float(residual_ratio), "topics": k}


# ---------------------------------------------------------------- systems

def gensim_child(args):
    """Child process: train gensim on the file, save U and s, print the training time."""
    from gensim.corpora import Dictionary, MmCorpus
    from gensim.models import LsiModel
    corpus = MmCorpus(args.path)
    dictionary = Dictionary.load_from_text(args.vocab)
    options = {"num_topics": args.topics}
    if args.chunk:
        options["chunksize"] = args.chunk
    if args.multipass:
        options.update(onepass=False, power_iters=2)
    if args.float32:
        options["dtype"] = np.float32
    started = time.perf_counter()
    lsi = LsiModel(corpus, id2word=dictionary, **options)
    seconds = time.perf_counter() - started
    np.savez(args.out, u=lsi.projection.u, s=lsi.projection.s)
    print(f"seconds {seconds:.4f}")


def run_gensim(path, vocab, topics, out, chunk=None, multipass=False, float32=False):
    command = [sys.executable, os.path.abspath(__file__), "--gensim-child", "--path", path, "--vocab", vocab,
               "--topics", str(topics), "--out", out]
    if float32:
        command += ["--float32"]
    if chunk:
        command += ["--chunk", str(chunk)]
    if multipass:
        command += ["--multipass"]
    stdout, _, process_seconds, rss = run_measured(command)
    seconds = float(re.search(r"seconds ([0-9.]+)", stdout).group(1))
    stored = np.load(out)
    return seconds, rss, stored["u"], stored["s"], process_seconds


def run_latent(latent, path, vocab, topics, out, extra=()):
    """Trains with `latent lsi`; returns (training seconds, peak RSS, U, s, process seconds).

    The training time is the one Latent logs for reading and training the corpus ("LSI
    model now has ... (12.91 s)"), the same scope as gensim's LsiModel call; the process
    time adds start-up, loading the vocabulary and saving the model (with fsync)."""
    command = [latent, "lsi", path, "--vocab", vocab, "--topics", str(topics), "--out", out,
               "--log-level", "info"] + list(extra)
    _, stderr, process_seconds, rss = run_measured(command)
    seconds = float(re.search(r"LSI model now has .* \(([0-9.]+) s\)", stderr).group(1))
    u = np.load(os.path.join(out, "u.npy"))
    s = np.load(os.path.join(out, "s.npy"))
    return seconds, rss, u, s, process_seconds


# ---------------------------------------------------------------- report

def table(title, rows, reference_method=None):
    print(f"\n### {title}\n")
    if reference_method:
        print(f"reference: {reference_method}\n")
    print("| system | settings | training s | process s | peak RSS MiB | max σ error | mean σ error | last σ error | subspace | residual ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, settings, seconds, process, rss, acc in rows:
        if acc is None:
            print(f"| {name} | {settings} | {seconds:.2f} | {process:.2f} | {rss:.0f} | | | | | |")
        else:
            print(f"| {name} | {settings} | {seconds:.2f} | {process:.2f} | {rss:.0f} | {acc['max_sv_error']:.2e} | "
                  f"{acc['mean_sv_error']:.2e} | {acc['last_sv_error']:+.2e} | {acc['subspace']:.5f} | {acc['residual_ratio']:.5f} |")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("latent", nargs="?")
    parser.add_argument("data", nargs="?")
    parser.add_argument("--cases", default="a,b,c")
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--topics", type=int, default=400)
    parser.add_argument("--gensim-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path")
    parser.add_argument("--vocab")
    parser.add_argument("--out")
    parser.add_argument("--chunk", type=int)
    parser.add_argument("--multipass", action="store_true")
    parser.add_argument("--float32", action="store_true")
    args = parser.parse_args()
    if args.gensim_child:
        gensim_child(args)
        return
    latent, data = args.latent, args.data
    generator = os.path.join(os.path.dirname(latent), "latent-generate")
    os.makedirs(data, exist_ok=True)
    work = os.path.join(data, "runs")
    os.makedirs(work, exist_ok=True)
    cases = set(args.cases.split(","))
    print(f"machine: {os.cpu_count()} cores; gensim 4.4.0; Latent release build; "
          f"{time.strftime('%Y-%m-%d')}")

    if "a" in cases:
        path, vocab = deerwester_million(data)
        g = run_gensim(path, vocab, 200, os.path.join(work, "a-gensim.npz"))
        l = run_latent(latent, path, vocab, 200, os.path.join(work, "a-latent.lsi"))
        table("(a) 1,000,000 repeated Deerwester documents from Matrix Market, 200 topics",
              [("gensim", "defaults (chunks of 20,000)", g[0], g[4], g[1], None),
               ("Latent", "defaults (chunks of 100,000)", l[0], l[4], l[1], None)])
        same = np.allclose(np.abs(g[3][:9]), np.abs(l[3][:9]), rtol=1e-6)
        print(f"\nspeed-up {g[0] / l[0]:.1f}x in training, {g[0] / l[4]:.1f}x counting Latent's whole process; "
              f"singular values agree to 1e-6: {same}")

    if "b" in cases or "c" in cases:
        prefix = wiki_small(data, generator, latent, args.documents)
        mm, lbc, vocab = prefix + ".mm", prefix + ".lbc", prefix + ".vocab"
        matrix = load_matrix(mm)
        u_ref, s_ref, method = reference(data, prefix, matrix, args.topics)
        nnz = matrix.nnz
        shape = f"{matrix.shape[1]:,} documents x {matrix.shape[0]:,} terms, {nnz:,} non-zeros"

        def measured(result):
            seconds, rss, u, s, process = result
            return seconds, process, rss, accuracy(matrix, u_ref, s_ref, u, s)

        if "b" in cases:
            rows = []
            g = measured(run_gensim(mm, vocab, args.topics, os.path.join(work, "b-gensim.npz")))
            rows.append(("gensim", "defaults (one-pass, chunks of 20,000)", *g))
            l = measured(run_latent(latent, mm, vocab, args.topics, os.path.join(work, "b-latent.lsi")))
            rows.append(("Latent", "defaults (one-pass, chunks of 100,000), Matrix Market", *l))
            lb = measured(run_latent(latent, lbc, vocab, args.topics, os.path.join(work, "b-latent-lbc.lsi")))
            rows.append(("Latent", "defaults, binary format", *lb))
            l20 = measured(run_latent(latent, mm, vocab, args.topics, os.path.join(work, "b-latent-20k.lsi"),
                                      ["--chunk-size", "20000"]))
            rows.append(("Latent", "one-pass, chunks of 20,000, Matrix Market", *l20))
            table(f"(b) wiki-small one-pass, {args.topics} topics: {shape}", rows, method)
            print(f"\nspeed-up in training at defaults: {g[0] / l[0]:.1f}x (Matrix Market), {g[0] / lb[0]:.1f}x (binary); "
                  f"at chunks of 20,000: {g[0] / l20[0]:.1f}x. Counting Latent's whole process: "
                  f"{g[0] / l[1]:.1f}x, {g[0] / lb[1]:.1f}x, {g[0] / l20[1]:.1f}x")

        if "c" in cases:
            rows = []
            g = measured(run_gensim(mm, vocab, args.topics, os.path.join(work, "c-gensim.npz"), multipass=True))
            rows.append(("gensim", "multi-pass, power_iters=2", *g))
            l = measured(run_latent(latent, mm, vocab, args.topics, os.path.join(work, "c-latent.lsi"), ["--multipass"]))
            rows.append(("Latent", "multi-pass, 2 power iterations, Matrix Market", *l))
            lb = measured(run_latent(latent, lbc, vocab, args.topics, os.path.join(work, "c-latent-lbc.lsi"), ["--multipass"]))
            rows.append(("Latent", "multi-pass, 2 power iterations, binary format", *lb))
            table(f"(c) wiki-small multi-pass, {args.topics} topics: {shape}", rows, method)
            print(f"\nspeed-up in training: {g[0] / l[0]:.1f}x (Matrix Market), {g[0] / lb[0]:.1f}x (binary); "
                  f"counting Latent's whole process: {g[0] / l[1]:.1f}x, {g[0] / lb[1]:.1f}x")


if __name__ == "__main__":
    main()
