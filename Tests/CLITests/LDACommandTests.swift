import Foundation
import Latent
import TestSupport
import Testing

@Suite("latent lda, topics, infer, evaluate, coherence", .timeLimit(.minutes(5)))
struct LDACommandTests {
    /// Term i's name: "w" and i in letters (the tokenizer keeps letters only).
    static func name(_ term: Int) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        return "w" + String(letters[term / 26 % 26]) + String(letters[term % 26])
    }

    /// A planted corpus of counts written as Matrix Market, its vocabulary, and its texts (each
    /// document's words in term order, as often as counted) as c.txt.
    static func corpus(in dir: String) throws -> PlantedTopics {
        let planted = PlantedTopics(terms: 300, documents: 600, topics: 4, termsPerTopic: 30, seed: 5)
        try MatrixMarketWriter.write(planted.corpus, to: dir + "/c.mm", termCount: planted.terms)
        var lines = ["600"]
        for term in 0..<planted.terms { lines.append("\(term)\t\(name(term))\t1") }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/c.vocab", atomically: true, encoding: .utf8)
        let texts = try planted.corpus.allDocuments().map { document in
            zip(document.termIDs, document.weights).flatMap { term, count in
                [String](repeating: name(Int(term)), count: Int(count))
            }.joined(separator: " ")
        }
        try (texts.joined(separator: "\n") + "\n").write(toFile: dir + "/c.txt", atomically: true, encoding: .utf8)
        return planted
    }

    @Test("lda trains, logs gensim's lines and the held-out bound, saves a folder the library loads; topics, infer, evaluate and coherence read it")
    func pipeline() throws {
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        _ = try Self.corpus(in: dir)
        var result = try CommandLineTests.run(["lda", dir + "/c.mm", "--vocab", dir + "/c.vocab", "--topics", "4",
                                               "--chunk-size", "100", "--passes", "3", "--alpha", "auto", "--eval-every", "2",
                                               "--holdout", "100", "--seed", "3", "--float64", "--out", dir + "/m.lda"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("running online (multi-pass) LDA training, 4 topics, 3 passes over the supplied corpus of 500 documents"), "\(result.error)")
        #expect(result.error.contains("PROGRESS: pass 2, at document #500/500"), "\(result.error)")
        #expect(result.error.contains("perplexity (e^-bound) estimate based on a held-out corpus of 100 documents"), "\(result.error)")
        #expect(result.error.contains("optimized alpha "), "\(result.error)")
        #expect(result.error.contains("held-out bound on the last 100 documents"), "\(result.error)")
        let model = try LDAModel(contentsOf: dir + "/m.lda")
        #expect(model.documentsProcessed == 500 && model.topicCount == 4 && model.parameters.alpha == .auto)
        #expect(model.vocabulary?[0] == "waa")

        result = try CommandLineTests.run(["topics", dir + "/m.lda", "--top", "3"])
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 4 && lines[0].hasPrefix("topic #0 (") && lines[0].contains("*\"w"), "\(lines)")
        #expect(lines[0].hasSuffix(model.formattedTopic(0, top: 3)), "\(lines)")

        result = try CommandLineTests.run(["infer", dir + "/m.lda", dir + "/c.mm", "--out", dir + "/t.tsv"])
        #expect(result.status == 0, "\(result.error)")
        let table = try String(contentsOfFile: dir + "/t.tsv", encoding: .utf8).split(separator: "\n")
        #expect(table.count == 601 && table[0] == "document\ttopic_0\ttopic_1\ttopic_2\ttopic_3", "\(table.prefix(2))")
        let row = table[1].split(separator: "\t").dropFirst().compactMap { Double($0) }
        #expect(row.count == 4 && abs(row.reduce(0, +) - 1) < 1e-9, "\(table[1])")
        result = try CommandLineTests.run(["infer", dir + "/m.lda", dir + "/c.mm", "--out", dir + "/t.mm"])
        #expect(result.status == 0, "\(result.error)")
        let inferred = try MatrixMarketCorpus(path: dir + "/t.mm").allDocuments()
        #expect(inferred.count == 600 && inferred.allSatisfy { $0.weights.allSatisfy { $0 >= 0.01 } })

        result = try CommandLineTests.run(["evaluate", dir + "/m.lda", dir + "/c.mm", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let expected = try model.bound(try MatrixMarketCorpus(path: dir + "/c.mm"))
        #expect((json?["per_word_bound"] as? Double).map { abs($0 - expected.perWordBound) < 1e-12 } == true, "\(result.output)")
        #expect(json?["documents"] as? Int == 600)
        // The E-step's settings of the evaluation can be set for every model alike.
        result = try CommandLineTests.run(["evaluate", dir + "/m.lda", dir + "/c.mm", "--json", "--iterations", "3",
                                           "--gamma-threshold", "0.5"])
        var alike = model
        alike.parameters.iterations = 3
        alike.parameters.gammaThreshold = 0.5
        let loose = try alike.bound(try MatrixMarketCorpus(path: dir + "/c.mm"))
        let looseJSON = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        #expect(loose.perWordBound != expected.perWordBound
                && (looseJSON?["per_word_bound"] as? Double).map { abs($0 - loose.perWordBound) < 1e-12 } == true, "\(result.output)")
        result = try CommandLineTests.run(["evaluate", dir + "/m.lda", dir + "/c.mm", "--iterations", "0"])
        #expect(result.status != 0 && result.error.contains("--iterations: expected at least 1, got 0"), "\(result.error)")

        // Coherence, u_mass from the corpus and c_v from the texts, as the library computes it.
        let topics = model.topTermIDs(top: 10)
        let vocabulary = try Vocabulary(contentsOf: dir + "/c.vocab")
        let texts = try String(contentsOfFile: dir + "/c.txt", encoding: .utf8).split(separator: "\n").map {
            Tokenizer().tokens(String($0))
        }
        let expectedCoherence: [(String, [Double])] = [
            ("--corpus", try TopicCoherence.uMass(topics: topics, corpus: try MatrixMarketCorpus(path: dir + "/c.mm"))),
            ("--texts", try TopicCoherence.cV(topics: topics, texts: { body in try texts.forEach(body) }, vocabulary: vocabulary)),
        ]
        for (option, expected) in expectedCoherence {
            let input = option == "--corpus" ? dir + "/c.mm" : dir + "/c.txt"
            result = try CommandLineTests.run(["coherence", dir + "/m.lda", option, input, "--top", "10", "--json"])
            #expect(result.status == 0, "\(result.error)")
            let printed = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
            // JSON carries the values to about 1e-15.
            let values = printed?["topics"] as? [Double] ?? []
            #expect(values.count == expected.count && zip(values, expected).allSatisfy { abs($0 - $1) < 1e-12 },
                    "\(option): \(result.output) against \(expected)")
        }
        // The planted topics are coherent: c_v well above that of random word lists.
        #expect(expectedCoherence[1].1.allSatisfy { $0 > 0.5 }, "\(expectedCoherence[1].1)")
        result = try CommandLineTests.run(["coherence", dir + "/m.lda"])
        #expect(result.status != 0 && result.error.contains("give one of --corpus (for u_mass) and --texts (for c_v)"), "\(result.error)")

        // An update keeps the model's settings and adds documents.
        result = try CommandLineTests.run(["lda", dir + "/c.mm", "--update", dir + "/m.lda", "--out", dir + "/m2.lda", "--passes", "1"])
        #expect(result.status == 0, "\(result.error)")
        #expect(try LDAModel(contentsOf: dir + "/m2.lda").documentsProcessed == 1100)
        result = try CommandLineTests.run(["lda", dir + "/c.mm", "--update", dir + "/m.lda", "--topics", "5", "--out", dir + "/m3.lda"])
        #expect(result.status != 0 && result.error.contains("--topics: an update keeps the settings"), "\(result.error)")
    }

    @Test("TF-IDF input, bad priors and a topic count of 0 are refused with clear messages; nothing is written")
    func badInput() throws {
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        _ = try Self.corpus(in: dir)
        var result = try CommandLineTests.run(["tfidf", dir + "/c.mm", "--out", dir + "/c.tfidf.mm"])
        #expect(result.status == 0, "\(result.error)")
        result = try CommandLineTests.run(["lda", dir + "/c.tfidf.mm", "--topics", "4", "--out", dir + "/t.lda"])
        #expect(result.status == 1 && result.error.contains("not a whole number") && result.error.contains("document #0"), "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/t.lda"))
        result = try CommandLineTests.run(["lda", dir + "/c.tfidf.mm", "--topics", "4", "--allow-real-weights", "--passes", "1",
                                           "--out", dir + "/t.lda"])
        #expect(result.status == 0, "\(result.error)")
        for (arguments, message) in [(["--topics", "0"], "topics: expected 1 to 100000, got 0"),
                                     (["--topics", "4", "--alpha", "0.1,0.2"], "alpha: expected 4 values (one per topic), got 2"),
                                     (["--topics", "4", "--alpha", "often"], "--alpha: expected symmetric, asymmetric, auto"),
                                     (["--topics", "4", "--eta", "-1"], "eta: expected positive finite values, got -1.0")] {
            result = try CommandLineTests.run(["lda", dir + "/c.mm", "--out", dir + "/x.lda"] + arguments)
            #expect(result.status != 0 && result.error.contains(message), "\(arguments): \(result.error)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/x.lda"))
        }
        // An LSI folder is not an LDA model.
        result = try CommandLineTests.run(["lsi", dir + "/c.tfidf.mm", "--topics", "3", "--out", dir + "/m.lsi"])
        #expect(result.status == 0, "\(result.error)")
        result = try CommandLineTests.run(["evaluate", dir + "/m.lsi", dir + "/c.mm"])
        #expect(result.status == 1 && result.error.contains("field 'kind': expected 'lda', found 'lsi'"), "\(result.error)")
    }
}
