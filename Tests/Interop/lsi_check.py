"""Checks Latent's LSI model folder with NumPy and gensim: python lsi_check.py OUTDIR.

OUTDIR holds gensim.mm (the interop corpus) and latent.lsi (Latent's model of it, 10 topics).
Prints gensim's two Deerwester topics (for the Swift side to compare) and exits non-zero
when Latent's arrays disagree with NumPy's exact SVD of the same matrix."""
import json
import sys

import numpy
from gensim import corpora, matutils
from gensim.corpora import MmCorpus
from gensim.models import LsiModel

out = sys.argv[1]
meta = json.load(open(f"{out}/latent.lsi/model.json"))
u = numpy.load(f"{out}/latent.lsi/u.npy")
s = numpy.load(f"{out}/latent.lsi/s.npy")
assert meta["kind"] == "lsi" and u.shape == (meta["terms"], meta["topics"]) and s.shape == (meta["topics"],), (u.shape, meta)
assert u.dtype == numpy.float64 and s.dtype == numpy.float64

corpus = MmCorpus(f"{out}/gensim.mm")
dense = matutils.corpus2dense(corpus, num_terms=meta["terms"], dtype=numpy.float64)
exact_u, exact_s, _ = numpy.linalg.svd(dense, full_matrices=False)
k = meta["topics"]
# Multi-pass randomized SVD (q = 2) on a flat text spectrum: close, not exact.
assert numpy.allclose(s, exact_s[:k], rtol=1e-4, atol=0), (s, exact_s[:k])
similarity = numpy.sum((exact_u[:, :k].T @ u) ** 2) / k
assert similarity >= 0.999, similarity
assert numpy.allclose(u.T @ u, numpy.eye(k), atol=1e-10)

# gensim's own LSI of the tutorial corpus, printed for the Swift side.
texts = [line.split() for line in open(f"{out}/deerwester.txt")]
dictionary = corpora.Dictionary(texts)
bow = [dictionary.doc2bow(text) for text in texts]
lsi = LsiModel(bow, id2word=dictionary, num_topics=2, random_seed=0)
for number in range(2):
    print(lsi.print_topic(number, topn=5))
