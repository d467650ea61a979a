import Foundation
import Latent
import TestSupport
import Testing

/// Files written by gensim 4.4.0 are read by Latent, and Latent's are read by gensim. The
/// Python side runs in a virtual environment made from PyPI by Tests/Interop/python-env.sh;
/// when PyPI cannot be reached the test says so loudly and records no result.
@Suite("gensim interoperability", .serialized, .timeLimit(.minutes(10)))
struct GensimInteropTests {
    static let interopFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Interop").path

    /// The venv's python, or nil (with a loud message) when PyPI cannot be reached.
    static func python() throws -> String? {
        let result = try run("/bin/bash", [interopFolder + "/python-env.sh"])
        if result.status == 3 {
            print("\n*** SKIPPED gensim interoperability: PyPI cannot be reached ***\n\(result.error)")
            return nil
        }
        try #require(result.status == 0, "python-env.sh failed: \(result.error)")
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
        try runProcess(executable, arguments)
    }

    @Test("corpus, vocabulary, TF-IDF and filter_extremes agree with gensim, both ways")
    func roundTrip() throws {
        guard let python = try Self.python() else { return }
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        let reference = try Self.run(python, [Self.interopFolder + "/gensim_reference.py", dir])
        try #require(reference.status == 0, "gensim_reference.py: \(reference.error)")

        // gensim's files, read by Latent and written back byte-identical.
        let gensimCorpus = try MatrixMarketCorpus(path: dir + "/gensim.mm")
        let gensimVocab = try Vocabulary(contentsOf: dir + "/gensim.vocab")
        try MatrixMarketWriter.write(gensimCorpus, to: dir + "/latent.mm", termCount: gensimVocab.count)
        try gensimVocab.write(to: dir + "/latent.vocab")
        #expect(FileManager.default.contentsEqual(atPath: dir + "/latent.mm", andPath: dir + "/gensim.mm"))
        #expect(FileManager.default.contentsEqual(atPath: dir + "/latent.mm.index", andPath: dir + "/gensim.mm.index"))
        #expect(FileManager.default.contentsEqual(atPath: dir + "/latent.vocab", andPath: dir + "/gensim.vocab"))

        // Latent's own tokenizer and vocabulary on the raw texts give gensim's ids and documents.
        let source = TextSource.lines(path: dir + "/texts.txt")
        var vocabulary = try TextCorpus.buildVocabulary(source: source, tokenizer: Tokenizer())
        #expect(vocabulary.tokens == gensimVocab.tokens && vocabulary.documentCount == gensimVocab.documentCount)
        #expect(vocabulary.documentFrequencies == gensimVocab.documentFrequencies)
        let ours = try TextCorpus(source: source, tokenizer: Tokenizer(), vocabulary: vocabulary).allDocuments()
        #expect(ours == (try gensimCorpus.allDocuments()))

        // TF-IDF weights equal gensim's to 1e-12.
        let tfidf = try TFIDFModel(corpus: gensimCorpus)
        let expected = try MatrixMarketCorpus(path: dir + "/gensim.tfidf.mm").allDocuments()
        let computed = try tfidf.transformed(gensimCorpus).allDocuments()
        try #require(computed.count == expected.count)
        for (a, b) in zip(computed, expected) {
            #expect(a.termIDs == b.termIDs)
            #expect(zip(a.weights, b.weights).allSatisfy { abs($0 - $1) <= 1e-12 })
        }
        try tfidf.save(to: dir + "/latent.tfidf")

        // filter_extremes keeps the same tokens with the same ids.
        vocabulary.filterExtremes(noBelow: 3, noAbove: 0.4, keepN: 60)
        try vocabulary.write(to: dir + "/latent.filtered.vocab")
        #expect(FileManager.default.contentsEqual(atPath: dir + "/latent.filtered.vocab", andPath: dir + "/gensim.filtered.vocab"))

        // And gensim and NumPy read Latent's files.
        let check = try Self.run(python, [Self.interopFolder + "/gensim_check.py", dir])
        #expect(check.status == 0, "gensim_check.py: \(check.error)")
    }

    @Test("NumPy loads Latent's LSI model and finds its exact SVD; gensim prints the same Deerwester topics")
    func lsiModel() async throws {
        guard let python = try Self.python() else { return }
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        let reference = try Self.run(python, [Self.interopFolder + "/gensim_reference.py", dir])
        try #require(reference.status == 0, "gensim_reference.py: \(reference.error)")
        let corpus = try MatrixMarketCorpus(path: dir + "/gensim.mm")
        let vocabulary = try Vocabulary(contentsOf: dir + "/gensim.vocab")
        let model = try await LSIModel(corpus: corpus, vocabulary: vocabulary, topics: 10, algorithm: .multiPass)
        try model.save(to: dir + "/latent.lsi")
        try DeerwesterExample.texts.map { $0.joined(separator: " ") }.joined(separator: "\n")
            .write(toFile: dir + "/deerwester.txt", atomically: true, encoding: .utf8)

        let check = try Self.run(python, [Self.interopFolder + "/lsi_check.py", dir])
        #expect(check.status == 0, "lsi_check.py: \(check.error)")
        let gensimTopics = check.output.split(separator: "\n").map(String.init)
        let (deerwesterVocabulary, deerwester) = DeerwesterExample.corpus()
        let ours = try await LSIModel(corpus: deerwester, vocabulary: deerwesterVocabulary, topics: 2)
        for (number, topic) in gensimTopics.enumerated() {
            // As sets of terms: gensim orders the tie between "response" and "time" by rounding noise.
            let latent = try ours.formattedTopic(number, top: 5)
            let terms = Set(latent.components(separatedBy: " + "))
            let negated = Set(terms.map { $0.hasPrefix("-") ? String($0.dropFirst()) : "-" + $0 })
            let theirs = Set(topic.components(separatedBy: " + "))
            #expect(theirs == terms || theirs == negated, "gensim: \(topic)\nLatent: \(latent)")
        }
        #expect(gensimTopics.count == 2)
    }

    /// The `latent` binary beside the test bundle.
    static var latent: String { Bundle.main.bundleURL.path + "/latent" }

    @discardableResult
    static func latent(_ arguments: [String]) throws -> ProcessResult {
        let result = try runProcess(latent, arguments)
        try #require(result.status == 0, "latent \(arguments.joined(separator: " ")): \(result.error)")
        return result
    }

    @Test("new documents through a saved vocabulary, TF-IDF and LSI model equal gensim's doc2bow, tfidf[bow] and lsi[tfidf[bow]]; .mm.gz and .mm.bz2 read by gensim")
    func newDocuments() throws {
        guard let python = try Self.python() else { return }
        let dir = try TemporaryDirectory()
        let script = Self.interopFolder + "/new_documents.py"
        let prepared = try Self.run(python, [script, "prepare", dir.path])
        try #require(prepared.status == 0, "new_documents.py prepare: \(prepared.error)")
        try Self.latent(["corpus", dir.file("train.txt"), "--out", dir.file("train")])
        try Self.latent(["tfidf", dir.file("train.mm"), "--out", dir.file("train.tfidf.mm"), "--model", dir.file("train.tfidf")])
        try Self.latent(["lsi", dir.file("train.tfidf.mm"), "--vocab", dir.file("train.vocab"), "--topics", "20",
                         "--out", dir.file("train.lsi")])
        let bagged = try Self.latent(["corpus", dir.file("new.txt"), "--vocab", dir.file("train.vocab"), "--out", dir.file("new")])
        // lee.cor is Latin-1: Latent says where the first byte that is not UTF-8 is, and skips such bytes as gensim does.
        #expect(bagged.error.contains("new.txt:") && bagged.error.contains("not valid UTF-8"), "\(bagged.error)")
        try Self.latent(["tfidf", dir.file("new.mm"), "--apply", dir.file("train.tfidf"), "--out", dir.file("new.tfidf.mm")])
        for suffix in [".gz", ".bz2"] {
            try Self.latent(["tfidf", dir.file("new.mm"), "--apply", dir.file("train.tfidf"), "--out", dir.file("new.tfidf.mm" + suffix)])
        }
        try Self.latent(["project", dir.file("train.lsi"), dir.file("new.tfidf.mm"), "--vocab", dir.file("new.vocab"),
                         "--out", dir.file("new.topics.tsv")])
        let check = try Self.run(python, [script, "check", dir.path])
        #expect(check.status == 0, "new_documents.py check: \(check.error)")
        #expect(check.output.contains("gensim agrees"), "\(check.output)")
    }

    @Test("latent lsi --update on real text matches training on both collections in one run, within the LSI tests' tolerances")
    func update() throws {
        guard let python = try Self.python() else { return }
        let dir = try TemporaryDirectory()
        let prepared = try Self.run(python, [Self.interopFolder + "/new_documents.py", "prepare", dir.path])
        try #require(prepared.status == 0, "new_documents.py prepare: \(prepared.error)")
        // lee_background.cor does not end with a newline.
        try dir.write("both.txt", bytes: try dir.read("train.txt") + Array("\n".utf8) + dir.read("new.txt"))
        try Self.latent(["corpus", dir.file("train.txt"), "--out", dir.file("train")])
        try Self.latent(["tfidf", dir.file("train.mm"), "--out", dir.file("train.tfidf.mm"), "--model", dir.file("train.tfidf")])
        for name in ["new", "both"] {
            try Self.latent(["corpus", dir.file(name + ".txt"), "--vocab", dir.file("train.vocab"), "--out", dir.file(name)])
            try Self.latent(["tfidf", dir.file(name + ".mm"), "--apply", dir.file("train.tfidf"), "--out", dir.file(name + ".tfidf.mm")])
        }
        // Ten topics are trained, and the leading five compared: on this text the spectrum is
        // flat past them (the 10th and 11th singular values differ by 1%), so no truncated
        // method determines the 10th vector, and the online update (which, as gensim's, keeps
        // only the topics between updates) least of all.
        let k = 10, compared = 5
        try Self.latent(["lsi", dir.file("train.tfidf.mm"), "--vocab", dir.file("train.vocab"), "--topics", "\(k)",
                         "--chunk-size", "100", "--out", dir.file("a.lsi")])
        let updated = try Self.latent(["lsi", dir.file("new.tfidf.mm"), "--update", dir.file("a.lsi"), "--vocab", dir.file("new.vocab"),
                                       "--chunk-size", "100", "--out", dir.file("ab.lsi")])
        #expect(updated.error.contains("LSI model now has \(k) topics from 350 documents"), "\(updated.error)")
        try Self.latent(["lsi", dir.file("both.tfidf.mm"), "--vocab", dir.file("train.vocab"), "--topics", "\(k)",
                         "--chunk-size", "100", "--out", dir.file("both.lsi")])

        // The exact SVD of the whole weighted corpus.
        let corpus = try MatrixMarketCorpus(path: dir.file("both.tfidf.mm"))
        var dense = Matrix<Double>(rows: try #require(corpus.termCount), columns: try #require(corpus.documentCount))
        for (j, document) in try corpus.allDocuments().enumerated() {
            for (term, weight) in zip(document.termIDs, document.weights) { dense[Int(term), j] = weight }
        }
        let (exactU, exactS, _) = try dense.lowerFactor().svd()
        let update = try LSIModel(contentsOf: dir.file("ab.lsi"))
        let oneRun = try LSIModel(contentsOf: dir.file("both.lsi"))
        #expect(update.documentsProcessed == 350 && oneRun.documentsProcessed == 350)
        #expect(update.topicCount == k && oneRun.topicCount == k)
        for model in [update, oneRun] {
            #expect(worstRelativeError(exactS, model.singularValues, k: compared) <= 0.01)
            #expect(subspaceSimilarity(exactU, model.leftSingularVectors, k: compared) >= 0.99)
        }
        #expect(worstRelativeError(oneRun.singularValues, update.singularValues, k: compared) <= 0.01)
        #expect(subspaceSimilarity(oneRun.leftSingularVectors, update.leftSingularVectors, k: compared) >= 0.99)
    }
}
