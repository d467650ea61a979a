"""gensim 4.4.0's similarity indexes on generated vectors, for Latent's interoperability test.

Usage: similarity_reference.py DIR

Writes to DIR, from a fixed seed:
  dense.mm, dense-queries.mm    3,000 documents and 40 queries of 50 values (signed)
  sparse.mm, sparse-queries.mm  2,000 documents and 30 queries over 500 terms (about 4% filled)
and results.json: the top 10 (document, similarity) of every query as gensim gives them
(num_best=10, ranked by magnitude), for
  MatrixSimilarity on dense.mm, SparseMatrixSimilarity on sparse.mm, and Similarity (shards
  of 700 documents) on dense.mm and on sparse.mm;
each with "single" (one query at a time), "batch" (the query corpus at once) and "all"
(the indexed corpus against itself).
"""
import json
import os
import sys

import numpy as np
from gensim import corpora, similarities

out = sys.argv[1]
rng = np.random.default_rng(20261203)


def dense_corpus(count, dimension):
    return [[(j, float(v)) for j, v in enumerate(rng.normal(size=dimension))] for _ in range(count)]


def sparse_corpus(count, terms, density):
    documents = []
    for _ in range(count):
        filled = max(1, rng.binomial(terms, density))
        ids = sorted(rng.choice(terms, size=filled, replace=False))
        documents.append([(int(i), float(rng.uniform(0.05, 3.0))) for i in ids])
    return documents


sets = {
    "dense": (dense_corpus(3000, 50), dense_corpus(40, 50), 50),
    "sparse": (sparse_corpus(2000, 500, 0.04), sparse_corpus(30, 500, 0.04), 500),
}
for name, (documents, queries, _) in sets.items():
    corpora.MmCorpus.serialize(os.path.join(out, name + ".mm"), documents)
    corpora.MmCorpus.serialize(os.path.join(out, name + "-queries.mm"), queries)


def plain(results):
    return [[int(d), float(s)] for d, s in results]


def run(index, documents, queries):
    return {
        "single": [plain(index[q]) for q in queries],
        "batch": [plain(r) for r in index[queries]],
        "all": [plain(r) for r in index[documents]],
    }


results = {}
documents, queries, dimension = sets["dense"]
results["matrix"] = run(similarities.MatrixSimilarity(documents, num_features=dimension, num_best=10), documents, queries)
results["sharded-dense"] = run(similarities.Similarity(os.path.join(out, "shards-dense"), documents, num_features=dimension,
                                                       num_best=10, shardsize=700), documents, queries)
documents, queries, dimension = sets["sparse"]
results["sparse"] = run(similarities.SparseMatrixSimilarity(documents, num_features=dimension, num_best=10), documents, queries)
results["sharded-sparse"] = run(similarities.Similarity(os.path.join(out, "shards-sparse"), documents, num_features=dimension,
                                                        num_best=10, shardsize=700), documents, queries)
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f)
