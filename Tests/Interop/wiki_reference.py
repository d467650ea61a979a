"""gensim 4.4's make_wiki recipe on a dump, for the comparison with `latent wiki`.

Usage: wiki_reference.py DUMP.xml.bz2 OUTPREFIX

Runs the steps of gensim.scripts.make_wiki (the non-online branch) unchanged, then writes
OUTPREFIX_texts.jsonl: the tokens, page id and title of each article, from
WikiCorpus.get_texts() with metadata.
"""
import json
import logging
import sys

from gensim.corpora import Dictionary, MmCorpus, WikiCorpus
from gensim.models import TfidfModel

DEFAULT_DICT_SIZE = 100000


def main():
    inp, outp = sys.argv[1], sys.argv[2]
    logging.basicConfig(format="%(asctime)s : %(levelname)s : %(message)s", level=logging.WARNING)
    # make_wiki, as gensim.scripts.make_wiki runs it
    wiki = WikiCorpus(inp)
    wiki.dictionary.filter_extremes(no_below=20, no_above=0.1, keep_n=DEFAULT_DICT_SIZE)
    MmCorpus.serialize(outp + "_bow.mm", wiki, progress_cnt=10000, metadata=True)
    wiki.dictionary.save_as_text(outp + "_wordids.txt.bz2")
    dictionary = Dictionary.load_from_text(outp + "_wordids.txt.bz2")
    del wiki
    mm = MmCorpus(outp + "_bow.mm")
    tfidf = TfidfModel(mm, id2word=dictionary, normalize=True)
    MmCorpus.serialize(outp + "_tfidf.mm", tfidf[mm], progress_cnt=10000)

    texts = WikiCorpus(inp, dictionary={})
    texts.metadata = True
    with open(outp + "_texts.jsonl", "w", encoding="utf-8") as f:
        for tokens, (pageid, title) in texts.get_texts():
            f.write(json.dumps({"id": pageid, "title": title, "tokens": tokens}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
