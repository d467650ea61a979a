import Foundation
import LatentCorpus
import TestSupport
import Testing

@Suite("vocabulary, tokenizer, repeat corpus")
struct VocabularyTests {
    @Test("ids as gensim assigns them: new tokens of a document in code-point order")
    func idAssignment() {
        var vocabulary = Vocabulary()
        let first = vocabulary.bagOfWords(["zeta", "alpha", "alpha", "Beta"], addingNew: true)
        #expect(vocabulary.id(of: "Beta") == 0 && vocabulary.id(of: "alpha") == 1 && vocabulary.id(of: "zeta") == 2)
        #expect(first.termIDs == [0, 1, 2] && first.weights == [1, 2, 1])
        _ = vocabulary.bagOfWords(["alpha", "omega"], addingNew: true)
        #expect(vocabulary.id(of: "omega") == 3)
        #expect(vocabulary.documentFrequencies == [1, 2, 1, 1] && vocabulary.documentCount == 2)
        #expect(vocabulary.bagOfWords(["omega", "unknown"]).termIDs == [3])
    }

    @Test("filterExtremes keeps the frequent-enough tokens and renumbers without gaps")
    func filter() {
        var vocabulary = Vocabulary()
        vocabulary.add(documents: [["a", "b", "c"], ["a", "b"], ["a", "d"], ["a", "b", "d"]])
        vocabulary.filterExtremes(noBelow: 2, noAbove: 0.9, keepN: nil)
        #expect(vocabulary.tokens == ["b", "d"])
        #expect(vocabulary.documentFrequencies == [3, 2])
    }

    @Test("save and load keep ids, frequencies and document count; bad lines name the line")
    func files() throws {
        let dir = try TemporaryDirectory()
        var vocabulary = Vocabulary()
        vocabulary.add(documents: [["käse", "brot"], ["brot"]])
        try vocabulary.write(to: dir.file("v.vocab"))
        #expect(String(decoding: try dir.read("v.vocab"), as: UTF8.self) == "2\n0\tbrot\t2\n1\tkäse\t1\n")
        let loaded = try Vocabulary(contentsOf: dir.file("v.vocab"))
        #expect(loaded.tokens == vocabulary.tokens && loaded.documentFrequencies == vocabulary.documentFrequencies)
        let bad = try dir.write("bad.vocab", "2\n0\tbrot\t2\n1\tkäse\n")
        #expect { try Vocabulary(contentsOf: bad) } throws: { error in
            (error as? CorpusError)?.description == "\(bad):3: expected 'id<TAB>token<TAB>document frequency', found 2 fields"
        }
        let duplicate = try dir.write("dup.vocab", "2\n0\tbrot\t2\n1\tbrot\t1\n")
        #expect(throws: CorpusError.self) { try Vocabulary(contentsOf: duplicate) }
    }

    @Test("reading accepts what gensim's text format allows and names the line and the field of anything else")
    func readingLineByLine() throws {
        let dir = try TemporaryDirectory()
        // Accepted: CRLF lines, no count line, a count between blanks, signed integers.
        let accepted: [(String, documents: Int, tokens: [String?], frequencies: [Int])] = [
            ("3\r\n0\ta\t1\r\n1\tb\t2\r\n", 3, ["a", "b"], [1, 2]),
            ("0\ta\t1\n2\tc\t5", 0, ["a", nil, "c"], [1, 0, 5]),
            (" 12 \n+1\tkäse\t+3\n0\t𝔘\t-0\n", 12, ["𝔘", "käse"], [0, 3]),
        ]
        for (index, (text, documents, tokens, frequencies)) in accepted.enumerated() {
            let vocabulary = try Vocabulary(contentsOf: try dir.write("ok\(index).vocab", text))
            #expect(vocabulary.documentCount == documents && vocabulary.tokens == tokens, "\(text)")
            #expect(vocabulary.documentFrequencies == frequencies, "\(text)")
        }
        let refused: [([UInt8], String)] = [
            ("2\nx\ta\t1\n", "2: expected a non-negative term id, found 'x'"),
            ("2\n-1\ta\t1\n", "2: expected a non-negative term id, found '-1'"),
            ("2\n2147483648\ta\t1\n", "2: expected a non-negative term id, found '2147483648'"),
            ("2\n 0\ta\t1\n", "2: expected a non-negative term id, found ' 0'"),
            ("2\n+\ta\t1\n", "2: expected a non-negative term id, found '+'"),
            ("2\n0\ta\t\n", "2: expected a document frequency, found ''"),
            ("2\n0\ta\t1 \n", "2: expected a document frequency, found '1 '"),
            ("2\n0\ta\t99999999999999999999\n", "2: expected a document frequency, found '99999999999999999999'"),
            ("2\n0\ta\t1\n\n", "3: expected 'id<TAB>token<TAB>document frequency', found 1 field"),
            ("0\ta\t1\tx\n", "1: expected 'id<TAB>token<TAB>document frequency', found 4 fields"),
            ("1 2\n0\ta\t1\n", "1: expected the number of documents"),
            ("2\n0\ta\t1\n0\tb\t1\n", "3: id 0 is used by 'a' and 'b'"),
            ("2\n0\ta\t1\n1\ta\t1\n", "3: token 'a' has id 0 and id 1"),
        ].map { (Array($0.utf8), $1) } + [(Array("2\n0\ta\t1\n1\tb".utf8) + [0xFF] + Array("\t1\n".utf8), "3: not valid UTF-8")]
        for (index, (bytes, message)) in refused.enumerated() {
            let path = try dir.write("bad\(index).vocab", bytes: bytes)
            #expect { try Vocabulary(contentsOf: path) } throws: { error in
                (error as? CorpusError)?.description == "\(path):\(message)"
            }
        }
    }

    @Test("a vocabulary file lists tokens in code-point order, as Python sorts them")
    func writingInCodePointOrder() throws {
        let dir = try TemporaryDirectory()
        var vocabulary = Vocabulary()
        // U+FB00 sorts before U+1D518 by code point but after it in UTF-16 (a surrogate pair).
        let words = ["𝔘", "ﬀ", "zz", "é", "Z", "z", "ä", "a\u{301}", "aa"]
        vocabulary.add(documents: [words])
        try vocabulary.write(to: dir.file("v.vocab"))
        let lines = String(decoding: try dir.read("v.vocab"), as: UTF8.self).split(separator: "\n").dropFirst()
        let written = lines.map { String($0.split(separator: "\t", omittingEmptySubsequences: false)[1]) }
        let expected = words.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) { $0.value < $1.value } }
        #expect(written == expected)
        #expect(expected == ["Z", "aa", "a\u{301}", "z", "zz", "ä", "é", "ﬀ", "𝔘"])
        let loaded = try Vocabulary(contentsOf: dir.file("v.vocab"))
        #expect(loaded.tokens == vocabulary.tokens && loaded.documentFrequencies == vocabulary.documentFrequencies)
    }

    @Test("tokenizer: lowercase, letters only, 2 to 15 code points, optional accent stripping")
    func tokenizer() {
        let tokens = Tokenizer().tokens("Graph minors IV: Widths of trees, 2nd x² _under a supercalifragilisticexpialidocious Café")
        #expect(tokens == ["graph", "minors", "iv", "widths", "of", "trees", "nd", "x²", "café"])
        #expect(Tokenizer(stripAccents: true).tokens("Café naïve") == ["cafe", "naive"])
        #expect(Tokenizer(stopwords: ["of"]).tokens("trees of graph") == ["trees", "graph"])
    }

    @Test("RepeatCorpus cycles the base to the requested count, cached or streamed")
    func repeatCorpus() throws {
        let base = InMemoryCorpus([try SparseDocument(entries: [(0, 1)]), SparseDocument(), try SparseDocument(entries: [(2, 3)])])
        for cacheLimit in [0, 1000] {
            let repeated = try RepeatCorpus(base, documents: 8, cacheLimit: cacheLimit)
            let docs = try repeated.allDocuments()
            #expect(docs.count == 8)
            #expect(docs.map(\.count) == [1, 0, 1, 1, 0, 1, 1, 0])
        }
        #expect(try RepeatCorpus(InMemoryCorpus([]), documents: 5, cacheLimit: 0).allDocuments().isEmpty)
    }

    @Test("the prefetcher hands out the same chunks as a plain pass, then nil")
    func prefetch() throws {
        let docs = (0..<1000).map { try! SparseDocument(entries: [(Int32($0 % 50), Double($0))]) }
        let corpus = InMemoryCorpus(docs)
        let prefetcher = ChunkPrefetcher(corpus, chunkSize: 64, depth: 2)
        var seen: [SparseDocument] = []
        var firsts: [Int] = []
        while let chunk = try prefetcher.next() {
            firsts.append(chunk.firstDocument)
            seen += chunk.documents
        }
        #expect(seen == docs)
        #expect(firsts == Array(stride(from: 0, to: 1000, by: 64)))
        #expect(try prefetcher.next() == nil)
    }
}

@Suite("text sources")
struct TextSourceTests {
    @Test("a folder of .txt files (name order) and JSON lines with a chosen field")
    func sources() throws {
        let dir = try TemporaryDirectory()
        try dir.write("b.txt", "Graph minors survey")
        try dir.write("a.txt", "Human machine interface")
        try dir.write("skip.md", "not a document")
        var texts: [String] = []
        try TextSource.folder(path: dir.path).forEachText { texts.append($0) }
        #expect(texts == ["Human machine interface", "Graph minors survey"])

        let jsonl = try dir.write("d.jsonl", "{\"body\": \"first text\", \"id\": 1}\n\n{\"body\": \"second\"}\n")
        texts = []
        try TextSource.guess(path: jsonl, field: "body").forEachText { texts.append($0) }
        #expect(texts == ["first text", "second"])
        let bad = try dir.write("bad.jsonl", "{\"body\": \"ok\"}\n{\"text\": 3}\n")
        #expect { try TextSource.jsonLines(path: bad, field: "body").forEachText { _ in } } throws: { error in
            (error as? CorpusError)?.description == "\(bad):2: expected a JSON object with a string field 'body'"
        }
    }
}
