"""LSI across corpus shapes: Latent (release build) and gensim 4.4.0 at their defaults, side by
side on the same generated TF-IDF files, each run a fresh process, in one invocation.

    python lsi_sweep.py LATENT_BINARY DATA_DIR [--shapes mid,mid-f32,...] [--references-only]

Prints one markdown table: the shape (documents x terms, non-zeros, topics, precision),
gensim's training time (its LsiModel call), Latent's training time and whole process
(start-up, reading, saving), the speed-up counting Latent's whole process, the accuracy of
both against a near-exact reference (subspace similarity, mean and max relative error of
the singular values, residual ratio), peak memory of both, and a floor: the least time the
work of Latent's algorithm could take on this machine (see `floor`).

Data is generated under DATA_DIR (`latent-generate`, fixed seeds) and never committed.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lsi_bench  # noqa: E402

# name: (documents, terms, mean tokens per document, topics, float32)
SHAPES = {
    "mid": (40_000, 40_000, 160, 200, False),
    "mid-f32": (40_000, 40_000, 160, 200, True),
    "b": (100_000, 100_000, 180, 400, False),
    "b-f32": (100_000, 100_000, 180, 400, True),
    "tall": (1_000_000, 100_000, 180, 100, False),
    "wide": (200_000, 500_000, 180, 200, False),
    "k1000": (100_000, 100_000, 180, 1000, False),
}


def corpus(data, latent, documents, terms, length):
    """The generated TF-IDF corpus as .mm (gensim) and .lbc (Latent), and its vocabulary."""
    generator = os.path.join(os.path.dirname(latent), "latent-generate")
    prefix = os.path.join(data, f"sweep-{documents}-{terms}-{length}")
    if not os.path.exists(prefix + ".mm"):
        subprocess.run([generator, "--out", prefix, "--documents", str(documents), "--terms", str(terms),
                        "--mean-length", str(length)], check=True)
    if not os.path.exists(prefix + ".lbc"):
        subprocess.run([latent, "convert", prefix + ".mm", prefix + ".lbc", "--log-level", "warning"], check=True)
    return prefix


def machine():
    """This machine's dense matrix product speed (GFLOP/s, float64 and float32) and memory
    bandwidth (GB/s, a copy counted as read plus write), measured with NumPy's OpenBLAS."""
    speeds = {}
    for dtype in (np.float64, np.float32):
        a = np.random.default_rng(0).standard_normal((3000, 3000)).astype(dtype)
        a @ a
        started = time.perf_counter()
        for _ in range(3):
            a @ a
        speeds[dtype] = 3 * 2 * 3000 ** 3 / (time.perf_counter() - started) / 1e9
    source = np.ones(1 << 27)  # 1 GiB
    target = np.empty_like(source)
    np.copyto(target, source)
    started = time.perf_counter()
    for _ in range(3):
        np.copyto(target, source)
    bandwidth = 3 * 2 * source.nbytes / (time.perf_counter() - started) / 1e9
    return speeds[np.float64], speeds[np.float32], bandwidth


def floor(documents, terms, nnz, topics, float32, gemm, bandwidth, oversampling=100, power=2, chunk=100_000):
    """The least time Latent's one-pass algorithm could take here (seconds), with its parts.

    Model: each chunk of `chunk` documents is sketched with l = topics + oversampling columns
    and `power` power iterations: 2·power + 1 products of the sparse chunk with a dense
    l-wide matrix (2·nnz·l flops each, and at least the sparse chunk's bytes and the dense
    sides' bytes moved), power + 1 orthonormalisations of a terms x l matrix (about 4·m·l²
    flops each, Cholesky QR in two rounds), and each chunk after the first merged into the
    running basis (about 2·m·(2k)² + 4·m·k·(2k) flops). Each part costs the longer of its
    flops at the measured gemm speed and its bytes at the measured bandwidth. Reading the
    corpus file (12 bytes per non-zero in .lbc) is counted at the bandwidth."""
    size = 4 if float32 else 8
    l = topics + oversampling
    chunks = max(1, -(-documents // chunk))
    products = 2 * power + 1
    sparse_flops = products * 2 * nnz * l
    sparse_bytes = products * (12 * nnz + size * l * (terms + min(chunk, documents)) * chunks)
    sparse = max(sparse_flops / gemm, sparse_bytes / bandwidth)
    dense_flops = chunks * (power + 1) * 4 * terms * l * l
    dense = dense_flops / gemm
    merge_flops = (chunks - 1) * (2 * terms * (2 * topics) ** 2 + 4 * terms * topics * 2 * topics)
    merge = merge_flops / gemm
    read = 12 * nnz / bandwidth
    return sparse + dense + merge + read, {"sparse": sparse, "dense": dense, "merge": merge, "read": read}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("latent")
    parser.add_argument("data")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--references-only", action="store_true",
                        help="generate the chosen shapes' corpora and cache their reference SVDs, time nothing")
    args = parser.parse_args()
    latent, data = args.latent, args.data
    os.makedirs(data, exist_ok=True)
    if args.references_only:
        for name in args.shapes.split(","):
            documents, terms, length, topics, _ = SHAPES[name]
            prefix = corpus(data, latent, documents, terms, length)
            _, _, method = lsi_bench.reference(data, prefix, lsi_bench.load_matrix(prefix + ".mm"), topics)
            print(f"{name}: reference {prefix}.reference-k{topics}.npz: {method}", flush=True)
        return
    work = os.path.join(data, "runs")
    os.makedirs(work, exist_ok=True)
    gemm64, gemm32, bandwidth = machine()
    print(f"machine: {os.cpu_count()} cores, gemm {gemm64:.0f} GFLOP/s (float64), {gemm32:.0f} GFLOP/s (float32), "
          f"memory {bandwidth:.1f} GB/s (NumPy); gensim 4.4.0; Latent release build; {time.strftime('%Y-%m-%d')}\n")
    print("| shape | nnz | topics | gensim s | Latent s (training / process) | speed-up | floor s (Latent / floor) "
          "| subspace g / L | mean σ err g / L | max σ err g / L | residual g / L | peak MiB g / L |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.shapes.split(","):
        documents, terms, length, topics, float32 = SHAPES[name]
        prefix = corpus(data, latent, documents, terms, length)
        matrix = lsi_bench.load_matrix(prefix + ".mm")
        u_ref, s_ref, _ = lsi_bench.reference(data, prefix, matrix, topics)
        extra = ["--float32"] if float32 else []
        g = lsi_bench.run_gensim(prefix + ".mm", prefix + ".vocab", topics, os.path.join(work, f"sweep-{name}-gensim.npz"),
                                 float32=float32)
        lt = lsi_bench.run_latent(latent, prefix + ".lbc", prefix + ".vocab", topics, os.path.join(work, f"sweep-{name}-latent.lsi"),
                                  extra + ["--force"])
        ga = lsi_bench.accuracy(matrix, u_ref, s_ref, g[2].astype(np.float64), g[3].astype(np.float64))
        la = lsi_bench.accuracy(matrix, u_ref, s_ref, lt[2].astype(np.float64), lt[3].astype(np.float64))
        # The floor of the work Latent did: its chunks and sketch as its model folder records them.
        with open(os.path.join(work, f"sweep-{name}-latent.lsi", "model.json")) as file:
            saved = json.load(file)
        chunk = -(-documents // saved["chunks_processed"])
        least, parts = floor(documents, terms, matrix.nnz, topics, float32, (gemm32 if float32 else gemm64) * 1e9,
                             bandwidth * 1e9, oversampling=saved["parameters"]["oversampling"],
                             power=saved["parameters"]["power_iterations"], chunk=chunk)
        print(f"| {name}: {documents:,} x {terms:,}{' float32' if float32 else ''} | {matrix.nnz / 1e6:.1f}M | {topics} "
              f"| {g[0]:.1f} | {lt[0]:.1f} / {lt[4]:.1f} | {g[0] / lt[4]:.1f}x | {least:.1f} ({lt[4] / least:.1f}x) "
              f"| {ga['subspace']:.4f} / {la['subspace']:.4f} | {ga['mean_sv_error']:.1e} / {la['mean_sv_error']:.1e} "
              f"| {ga['max_sv_error']:.1e} / {la['max_sv_error']:.1e} | {ga['residual_ratio']:.4f} / {la['residual_ratio']:.4f} "
              f"| {g[1]:.0f} / {lt[1]:.0f} |")
        print("    floor parts (s): " + ", ".join(f"{key} {value:.2f}" for key, value in parts.items()), file=sys.stderr)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
