"""The 9 Deerwester titles of gensim's LSI tutorial, shared by the interop scripts and the
benchmarks (the Swift side has them as DeerwesterExample.titles)."""
from collections import Counter

TITLES = [
    "Human machine interface for lab abc computer applications",
    "A survey of user opinion of computer system response time",
    "The EPS user interface management system",
    "System and human system engineering testing of EPS",
    "Relation of user perceived response time to error measurement",
    "The generation of random binary unordered trees",
    "The intersection graph of paths in trees",
    "Graph minors IV Widths of trees and well quasi ordering",
    "Graph minors A survey",
]


def tutorial_texts():
    """The tutorial's preprocessing: lowercase, split, drop the stop words and words occurring once."""
    stop = set("for a of the and to in".split())
    texts = [[w for w in t.lower().split() if w not in stop] for t in TITLES]
    counts = Counter(w for t in texts for w in t)
    return [[w for w in t if counts[w] > 1] for t in texts]
