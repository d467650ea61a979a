import Foundation
import Latent
import TestSupport
import Testing

/// Latent's Wikipedia text pipeline against gensim 4.4.0's own functions (`filter_wiki`,
/// `wikicorpus.tokenize`), run on the same generated texts.
@Suite("Wikipedia markup against gensim", .serialized, .timeLimit(.minutes(5)))
struct WikiInteropTests {
    @Test("filter_wiki and tokenize: the same text left and the same tokens on 12,000 generated wiki texts")
    func markupAndTokens() throws {
        guard let python = try GensimInteropTests.python() else { return }
        let dir = try TemporaryDirectory()
        let records = dir.path + "/wiki-markup.jsonl"
        let made = try GensimInteropTests.run(python, [GensimInteropTests.interopFolder + "/wiki_markup.py", records, "12000"])
        try #require(made.status == 0, "wiki_markup.py: \(made.error)")
        let lines = try String(contentsOfFile: records, encoding: .utf8).split(separator: "\n")
        try #require(lines.count == 12000)
        let tokenizer = WikiTokenizer()
        var textMismatches = 0, tokenMismatches = 0
        for (number, line) in lines.enumerated() {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let raw = try #require(record["text"] as? String)
            let expected = try #require(record["plain"] as? [Int]).map(UInt32.init)
            let expectedTokens = try #require(record["tokens"] as? [String])
            let plain = WikiMarkup.plainText(raw.unicodeScalars.map(\.value))
            if plain != expected {
                textMismatches += 1
                if textMismatches <= 3 {
                    Issue.record("record \(number + 1): text \(raw.debugDescription)\n  gensim: \(Self.show(expected))\n  latent: \(Self.show(plain))")
                }
            }
            let tokens = tokenizer.tokens(expected)
            if tokens != expectedTokens {
                tokenMismatches += 1
                if tokenMismatches <= 3 {
                    Issue.record("record \(number + 1): tokens of \(Self.show(expected))\n  gensim: \(expectedTokens)\n  latent: \(tokens)")
                }
            }
        }
        #expect(textMismatches == 0)
        #expect(tokenMismatches == 0)
    }

    @Test("latent wiki equals gensim's make_wiki on a generated dump: texts, titles, vocabulary and bag-of-words byte for byte, TF-IDF to 1e-12; multistream gives the same files")
    func makeWiki() throws {
        guard let python = try GensimInteropTests.python() else { return }
        let dir = try TemporaryDirectory()
        let generator = Bundle.main.bundleURL.path + "/latent-generate"
        for (name, extra) in [("single", [String]()), ("multi", ["--multistream"])] {
            let made = try runProcess(generator, ["wiki", "--out", dir.path + "/\(name).xml.bz2", "--pages", "600", "--seed", "7"] + extra)
            try #require(made.status == 0, "latent-generate: \(made.error)")
        }
        #expect(FileManager.default.fileExists(atPath: dir.path + "/multi-index.txt.bz2"))
        let articles = try Self.compareWithGensim(python: python, dump: dir.path + "/single.xml.bz2", dir: dir.path)
        #expect(articles > 450, "the generated dump should give many articles, gave \(articles)")
        _ = try GensimInteropTests.latent(["wiki", dir.path + "/multi.xml.bz2", "--out", dir.path + "/multi", "--texts"])

        // The multistream form of the same dump: the same files.
        for file in ["_wordids.txt.bz2", "_bow.mm", "_bow.mm.index", "_tfidf.mm", "_titles.tsv", "_texts.txt"] {
            #expect(FileManager.default.contentsEqual(atPath: dir.path + "/single" + file, andPath: dir.path + "/multi" + file), "\(file): multistream differs")
        }
    }

    @Test("latent wiki equals gensim's make_wiki on a hand-made excerpt of a real dump (public-domain texts in wiki markup)")
    func handmade() throws {
        guard let python = try GensimInteropTests.python() else { return }
        let dir = try TemporaryDirectory()
        let source = GensimInteropTests.interopFolder + "/data/handmade-wiki.xml"
        let dump = try dir.write("single.xml", bytes: Array(try Data(contentsOf: URL(fileURLWithPath: source))))
        let compressed = try runProcess("/usr/bin/env", ["bzip2", "-k", dump])
        try #require(compressed.status == 0, "bzip2: \(compressed.error)")
        // The redirect, the talk page and the template are dropped; five articles remain.
        #expect(try Self.compareWithGensim(python: python, dump: dump + ".bz2", dir: dir.path) == 5)
    }

    /// Runs gensim's make_wiki (and its texts) and `latent wiki` on `dump`, in `dir` (as
    /// `gensim*` and `single*`), and checks that they agree; returns the articles.
    static func compareWithGensim(python: String, dump: String, dir: String) throws -> Int {
        let reference = try GensimInteropTests.run(python, [GensimInteropTests.interopFolder + "/wiki_reference.py",
                                                            dump, dir + "/gensim"])
        try #require(reference.status == 0, "wiki_reference.py: \(reference.error)")
        _ = try GensimInteropTests.latent(["wiki", dump, "--out", dir + "/single", "--texts"])

        // The articles: the same, in the same order, with the same tokens, ids and titles.
        let expected = try String(contentsOfFile: dir + "/gensim_texts.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let texts = try String(contentsOfFile: dir + "/single_texts.txt", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let titles = try String(contentsOfFile: dir + "/single_titles.tsv", encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(texts.count == expected.count && titles.count == expected.count)
        var mismatches = 0
        for (article, (line, title)) in zip(expected, zip(texts, titles)) {
            let tokens = line.split(separator: " ").map(String.init)
            let fields = title.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if tokens != (article["tokens"] as? [String]) || Array(fields.dropFirst()) != [article["id"] as? String ?? "", article["title"] as? String ?? ""] {
                mismatches += 1
                if mismatches <= 2 { Issue.record("article \(fields.first ?? "?") differs from gensim's \(article["id"] ?? "?") \(article["title"] ?? "?")") }
            }
        }
        #expect(mismatches == 0)

        // make_wiki's files.
        for file in ["_wordids.txt.bz2", "_bow.mm", "_bow.mm.index"] {
            #expect(FileManager.default.contentsEqual(atPath: dir + "/single" + file, andPath: dir + "/gensim" + file), "\(file) differs from gensim's")
        }
        let ours = try MatrixMarketCorpus(path: dir + "/single_tfidf.mm").allDocuments()
        let theirs = try MatrixMarketCorpus(path: dir + "/gensim_tfidf.mm").allDocuments()
        try #require(ours.count == theirs.count)
        var worst = 0.0
        for (a, b) in zip(ours, theirs) {
            #expect(a.termIDs == b.termIDs)
            for (x, y) in zip(a.weights, b.weights) { worst = max(worst, abs(x - y)) }
        }
        #expect(worst <= 1e-12, "TF-IDF weights differ from gensim's by up to \(worst)")

        return expected.count
    }

    static func show(_ codes: [UInt32]) -> String {
        String(codes.map { Unicode.Scalar($0).map { String(Character($0)) } ?? "\\u{\(String($0, radix: 16))}" }.joined()).debugDescription
    }
}
