"""The everyday gensim flow for new documents, checked against gensim itself.

    python new_documents.py prepare OUTDIR   # writes OUTDIR/train.txt and OUTDIR/new.txt
    python new_documents.py check OUTDIR     # checks what Latent made of them; exits non-zero on a mismatch

The texts are gensim's Lee corpus from its test data: lee_background.cor (300 documents)
to train on, lee.cor (50 documents, Latin-1, so not all of it is UTF-8) as new documents.
Latent made, with its command line (see GensimInteropTests.newDocuments):
    train.vocab, train.mm            latent corpus train.txt --out train
    train.tfidf                      latent tfidf train.mm --model train.tfidf ...
    train.lsi                        latent lsi train.tfidf.mm --vocab train.vocab ...
    new.mm, new.vocab                latent corpus new.txt --vocab train.vocab --out new
    new.tfidf.mm (.gz, .bz2)         latent tfidf new.mm --apply train.tfidf ...
    new.topics.tsv                   latent project train.lsi new.tfidf.mm --out new.topics.tsv
"""
import os
import shutil
import sys

import numpy
from gensim.corpora import Dictionary, MmCorpus
from gensim.models import LsiModel, TfidfModel
from gensim.test.utils import datapath
from gensim.utils import simple_preprocess

command, out = sys.argv[1], sys.argv[2]
if command == "prepare":
    shutil.copyfile(datapath("lee_background.cor"), os.path.join(out, "train.txt"))
    shutil.copyfile(datapath("lee.cor"), os.path.join(out, "new.txt"))
    sys.exit(0)


def texts(name):
    # As bytes: simple_preprocess decodes UTF-8 ignoring what is not, as Latent does.
    with open(os.path.join(out, name), "rb") as f:
        lines = f.read().split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the last line's newline, when there is one
    return [simple_preprocess(line) for line in lines]


def dense(vector, length):
    row = numpy.zeros(length)
    for index, value in vector:
        row[index] = value
    return row


train, new = texts("train.txt"), texts("new.txt")
dictionary = Dictionary(train)
saved = Dictionary.load_from_text(os.path.join(out, "train.vocab"))
assert saved.token2id == dictionary.token2id and saved.dfs == dictionary.dfs, "vocabulary differs"
assert Dictionary.load_from_text(os.path.join(out, "new.vocab")).token2id == dictionary.token2id

# Bag-of-words of the new documents with the saved vocabulary: dictionary.doc2bow exactly.
bows = [dictionary.doc2bow(text) for text in new]
ours = list(MmCorpus(os.path.join(out, "new.mm")))
assert len(ours) == len(bows) == 50, (len(ours), len(bows))
for number, (a, b) in enumerate(zip(ours, bows)):
    assert [(i, int(w)) for i, w in a] == b, f"bag of words of document {number} differs"

# TF-IDF with the model trained on the first collection: tfidf[bow] to 1e-12.
tfidf = TfidfModel([dictionary.doc2bow(text) for text in train])
weighted = [tfidf[bow] for bow in bows]
for suffix in ["", ".gz", ".bz2"]:
    ours = list(MmCorpus(os.path.join(out, "new.tfidf.mm" + suffix)))
    assert len(ours) == len(weighted), suffix
    for number, (a, b) in enumerate(zip(ours, weighted)):
        assert [i for i, _ in a] == [i for i, _ in b], f"{suffix}: terms of document {number} differ"
        assert max((abs(x - y) for (_, x), (_, y) in zip(a, b)), default=0) <= 1e-12, f"{suffix}: weights of document {number}"

# The projection: lsi[tfidf[bow]] of a gensim model holding Latent's arrays, to 1e-9.
u = numpy.load(os.path.join(out, "train.lsi", "u.npy"))
s = numpy.load(os.path.join(out, "train.lsi", "s.npy"))
lsi = LsiModel(num_topics=u.shape[1], id2word=dictionary)
lsi.projection.u, lsi.projection.s = u, s
rows = [line.split("\t") for line in open(os.path.join(out, "new.topics.tsv"), encoding="utf-8").read().splitlines()]
assert rows[0] == ["document"] + [f"topic_{k}" for k in range(u.shape[1])], rows[0]
assert len(rows) == 1 + len(weighted)
worst = 0.0
for number, (row, vector) in enumerate(zip(rows[1:], weighted)):
    assert int(row[0]) == number
    expected = dense(lsi[vector], u.shape[1])
    worst = max(worst, float(numpy.max(numpy.abs(numpy.array([float(v) for v in row[1:]]) - expected))))
assert worst <= 1e-9, worst
print(f"gensim agrees: bags exact, TF-IDF to 1e-12, projections to {worst:.1e}")
