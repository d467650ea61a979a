"""Reads Latent's files with gensim and NumPy: python gensim_check.py OUTDIR. Exits non-zero on mismatch."""
import sys

import numpy
from gensim.corpora import Dictionary, MmCorpus

out = sys.argv[1]
ours = MmCorpus(f"{out}/latent.mm")
theirs = MmCorpus(f"{out}/gensim.mm")
assert len(ours) == len(theirs), (len(ours), len(theirs))
for number in range(len(theirs)):
    assert ours[number] == theirs[number], number  # through Latent's pickled index
assert list(ours) == list(theirs)
vocab = Dictionary.load_from_text(f"{out}/latent.vocab")
reference = Dictionary.load_from_text(f"{out}/gensim.vocab")
assert vocab.token2id == reference.token2id and vocab.dfs == reference.dfs and vocab.num_docs == reference.num_docs
idfs = numpy.load(f"{out}/latent.tfidf/idfs.npy")
dfs = numpy.load(f"{out}/latent.tfidf/dfs.npy")
assert idfs.shape == (len(reference),) and dfs.dtype == numpy.int64
expected = numpy.log2(len(theirs) / numpy.array([reference.dfs[i] for i in range(len(reference))]))
assert numpy.allclose(idfs, expected, rtol=0, atol=1e-12)
print("gensim read Latent's files: OK")
