"""Writes gensim's files for the interoperability test: python gensim_reference.py OUTDIR.

OUTDIR/texts.txt           the raw texts (one document per line)
OUTDIR/gensim.vocab        Dictionary(simple_preprocess(text)).save_as_text
OUTDIR/gensim.mm(.index)   MmCorpus.serialize of the bag-of-words corpus
OUTDIR/gensim.tfidf.mm     MmCorpus.serialize of TfidfModel(corpus)[corpus]
OUTDIR/gensim.filtered.vocab   the dictionary after filter_extremes(no_below=3, no_above=0.4, keep_n=60)
"""
import random
import sys

from gensim.corpora import Dictionary, MmCorpus
from gensim.models import TfidfModel
from gensim.utils import simple_preprocess

from deerwester import TITLES

out = sys.argv[1]
deerwester = TITLES
unicode_lines = [
    "Café naïve résumé Über STRASSE straße ωμέγα Ωμέγα 東京 x² ½ 2nd _under score_ a1b2c3",
    "",
    "résumé again, café again; Ελληνικά and ДОБРЫЙ день, ok",
]
rng = random.Random(7)
words = ["w%s" % "".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 6))) for _ in range(400)]
weights = [1.0 / (rank + 1) for rank in range(len(words))]
generated = [" ".join(rng.choices(words, weights, k=rng.randint(0, 40))) for _ in range(600)]
texts = deerwester + unicode_lines + generated
with open(f"{out}/texts.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(texts) + "\n")

tokens = [simple_preprocess(t) for t in texts]
dictionary = Dictionary(tokens)
dictionary.save_as_text(f"{out}/gensim.vocab")
bow = [dictionary.doc2bow(t) for t in tokens]
MmCorpus.serialize(f"{out}/gensim.mm", bow, id2word=dictionary)
tfidf = TfidfModel(bow)
MmCorpus.serialize(f"{out}/gensim.tfidf.mm", tfidf[bow], id2word=dictionary)
dictionary.filter_extremes(no_below=3, no_above=0.4, keep_n=60)
dictionary.save_as_text(f"{out}/gensim.filtered.vocab")
