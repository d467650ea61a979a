"""gensim 4.4's markup removal and tokenizer on generated wiki texts, for the Swift port.

Usage: wiki_markup.py OUT.jsonl [COUNT] [SEED]

Writes one JSON object per line: the text, gensim's `filter_wiki(text)` as code points (it may
hold lone surrogates from numeric entities, which JSON strings cannot carry to Swift), and the
tokens of `wikicorpus.tokenize(filter_wiki(text))`. The texts are random sequences of markup
fragments, or of single characters and keywords, chosen to meet every pattern of `remove_markup`, its edge cases, and near misses.
"""
import json
import random
import sys

from gensim.corpora.wikicorpus import filter_wiki, tokenize

PIECES = [
    # plain words, several scripts, digits, case and final sigma
    "graph", "Minors", "trees", "the", "survey", "ΟΔΟΣ", "Σ", "ΣΑΣ.", "İstanbul", "Straße", "Москва",
    "東京都", "한국어", "हिन्दी", "abc123def", "x²", "_under", "a", "superlongwordthatexceedsfifteen",
    "ǅemal", "ﬁne", "ⅫV", "٣٤٥", "co_op", "e\u0301te", "ÀÉÎ",
    # separators
    " ", " ", "  ", "\n", "\n", "\n\n", "\t", "\r\n", ".", ",", "-", ":", ";", "'", '"', "=", "==",
    # templates and braces
    "{{", "}}", "{", "}", "{{cite|a=b}}", "{{{1}}}", "{{nested {{inner}} x}}",
    # links, files, categories, interlanguage
    "[[", "]]", "[", "]", "|", "[[Foo]]", "[[Foo|bar]]", "[[a|b|c]]", "[[File:x.jpg|thumb|A caption]]",
    "[[file:y.png]]", "[[Image:z.gif|left|Pic text]]", "[[image", "[[File:", "[[Category:Stuff]]",
    "[[Category:Bad[x]]]", "\n[[de:Foo]]", "\n[[fr-x:Bar baz]]", "\n[[en:]]", "\n[[pt:a:b]]", "[[zh:中文]]",
    "[http://example.com]", "[https://a.org/x?y=1 Some description]", "[ftp://b c d]", "http://",
    "[mailto:x@y.z text]", "[http://x.y no close", "://",
    # tags, comments, refs
    "<!--", "-->", "<!-- comment -->", "<ref>", "</ref>", "<ref name=\"a\"/>", "<ref name=b>cite</ref>",
    "<references/>", "<nowiki>", "</nowiki>", "<nowiki>[[x]]</nowiki>", "<math>", "</math>",
    "<math>x^2</math>", "<br/>", "<br>", "<", ">", "/>", "<div style=\"a\">", "</div>", "<ref",
    # tables
    "{|", "|}", "|-", "|-1", "|+", "||", "|||", "!!", "|-||", "!", "! scope=col", "| bgcolor=red",
    "colspan=2", "2 colspan", "3colspan", " colspan", "rowspan=3", "style=\"x\"", "class=wikitable",
    "align=center", "scope=row",
    # entities
    "&amp;", "&nbsp;", "&lt;", "&gt;", "&quot;", "&#65;", "&#x41;", "&#X263A;", "&#x0x41;", "&#1_0;",
    "&#١٢;", "&bogus;", "&#xD800;", "&#99999999;", "&#x110000;", "&eacute;", "&#;", "&#x;", "&ABCDEFGHI;",
    "&#xABCDEFGH1;", "&amp;nbsp;", "&Sigma;", "&#931;",
    # headings and lists
    "== Heading ==", "=== Sub ===", "* item", "# numbered", ":indent", "''italic''", "'''bold'''",
]


# Single characters and short keywords, so that random short strings reach the patterns'
# edge cases (what a lookbehind sees, where a lazy group stops, what an optional part gives
# back) far more often than whole fragments do.
CHARACTERS = list("\n\n\n  \t|||!![[]]{{}}<>/-&#;:=xX1a_.") + [
    "ref", "math", "nowiki", "File:", "Image", "Category:", "http://", "scope=", "colspan", "style=", "de",
    "amp", "Σ", "٣", "²", "Ab",
]


def text(rng):
    if rng.random() < 0.5:
        count = rng.randint(0, 40)
        return "".join(rng.choice(PIECES) for _ in range(count))
    count = rng.randint(0, 30)
    return "".join(rng.choice(CHARACTERS) for _ in range(count))


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20261202)
    with open(out, "w", encoding="utf-8") as f:
        for _ in range(count):
            raw = text(rng)
            plain = filter_wiki(raw)
            record = {"text": raw, "plain": [ord(c) for c in plain], "tokens": tokenize(plain)}
            f.write(json.dumps(record, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
