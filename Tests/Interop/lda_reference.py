"""gensim 4.4.0's online LDA, recorded so that Latent can be checked against it exactly.

    python lda_reference.py OUTDIR

The corpus is gensim's Lee corpus (lee_background.cor, 300 documents), tokenised with
simple_preprocess and filtered (no_below=3, no_above=0.5), written as OUTDIR/lee.mm and
OUTDIR/lee.vocab. Every random draw gensim makes (the initial topics, then each document's
initial gamma) is recorded by a RandomState that keeps what it hands out, so Latent can
start from exactly the same state. For each case (alpha fixed, alpha 'auto'):

    CASE.topics0.npy    the initial sstats, topics x terms
    CASE.gammas.npy     every E-step's initial gamma, in order: draws x topics
    CASE.lambdas.npy    lambda after each M-step: updates x topics x terms
    CASE.alphas.npy     alpha after each M-step: updates x topics

and for the fixed-alpha model after training, the bound of the corpus and its per-word bound
(log_perplexity), each with the draws its inference made:

    bound.txt           bound, per-word bound, words
    bound.gammas.npy, perplexity.gammas.npy

and the coherence of that model's topics (their 10 most probable term ids): u_mass over the
corpus, c_v over the tokenised texts (windows of 110, gensim's default, and of 10):

    texts.txt           the tokenised texts, a document per line, tokens joined by spaces
    coherence.json      {"topics": [[id, ...], ...], "u_mass": [...], "c_v": [...], "c_v_10": [...]}
"""
import json
import os
import sys

import numpy as np
from gensim.corpora import Dictionary, MmCorpus
from gensim import matutils
from gensim.models import CoherenceModel, LdaModel
from gensim.test.utils import datapath
from gensim.utils import simple_preprocess

out = sys.argv[1]
with open(datapath("lee_background.cor"), "rb") as f:
    texts = [simple_preprocess(line) for line in f.read().split(b"\n") if line.strip()]
dictionary = Dictionary(texts)
dictionary.filter_extremes(no_below=3, no_above=0.5, keep_n=None)
corpus = [dictionary.doc2bow(text) for text in texts]
MmCorpus.serialize(os.path.join(out, "lee.mm"), corpus, id2word=dictionary)
dictionary.save_as_text(os.path.join(out, "lee.vocab"))


class Recording(np.random.RandomState):
    """A RandomState that keeps every gamma draw it hands out."""

    def __init__(self, seed):
        super().__init__(seed)
        self.draws = []

    def gamma(self, shape, scale=1.0, size=None):
        values = super().gamma(shape, scale, size)
        self.draws.append(np.array(values, dtype=np.float64))
        return values


class Observed(LdaModel):
    """LdaModel that keeps lambda and alpha after each M-step."""

    def do_mstep(self, rho, other, extra_pass=False):
        super().do_mstep(rho, other, extra_pass)
        self.lambdas.append(self.state.get_lambda().copy())
        self.alphas.append(np.array(self.alpha, dtype=np.float64))


def train(case, alpha):
    Observed.lambdas, Observed.alphas = [], []
    random = Recording(42)
    model = Observed(corpus, id2word=dictionary, num_topics=5, chunksize=64, passes=2, update_every=1,
                     alpha=alpha, eta=None, eval_every=0, iterations=50, gamma_threshold=0.001,
                     random_state=random, dtype=np.float64)
    np.save(os.path.join(out, case + ".topics0.npy"), random.draws[0])
    np.save(os.path.join(out, case + ".gammas.npy"), np.concatenate(random.draws[1:], axis=0))
    np.save(os.path.join(out, case + ".lambdas.npy"), np.array(Observed.lambdas))
    np.save(os.path.join(out, case + ".alphas.npy"), np.array(Observed.alphas))
    return model, random


model, random = train("fixed", "symmetric")
train("auto", "auto")

start = len(random.draws)
bound = model.bound(corpus)
np.save(os.path.join(out, "bound.gammas.npy"), np.concatenate(random.draws[start:], axis=0))
start = len(random.draws)
per_word = model.log_perplexity(corpus)
np.save(os.path.join(out, "perplexity.gammas.npy"), np.concatenate(random.draws[start:], axis=0))
words = sum(count for document in corpus for _, count in document)
with open(os.path.join(out, "bound.txt"), "w") as f:
    f.write("%r %r %r\n" % (float(bound), float(per_word), float(words)))

with open(os.path.join(out, "texts.txt"), "w") as f:
    f.write("".join(" ".join(text) + "\n" for text in texts))
topics = [[int(i) for i in matutils.argsort(topic, topn=10, reverse=True)] for topic in model.get_topics()]
coherence = {"topics": topics}
coherence["u_mass"] = [float(c) for c in CoherenceModel(
    topics=topics, corpus=corpus, dictionary=dictionary, coherence="u_mass").get_coherence_per_topic()]
for key, window in (("c_v", None), ("c_v_10", 10)):
    coherence[key] = [float(c) for c in CoherenceModel(
        topics=topics, texts=texts, dictionary=dictionary, coherence="c_v", window_size=window,
        processes=1).get_coherence_per_topic()]
with open(os.path.join(out, "coherence.json"), "w") as f:
    json.dump(coherence, f)
