import Foundation
import Latent
import TestSupport
import Testing

@Suite("latent index, similar, index-add, index-remove", .timeLimit(.minutes(5)))
struct SimilarityCommandTests {
    static let titles = DeerwesterExample.titles

    @Test("the everyday workflow: corpus, TF-IDF, LSI, index with titles, then a text, a document, a corpus and all pairs as queries; add and remove")
    func workflow() throws {
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        try FileManager.default.createDirectory(atPath: dir + "/texts", withIntermediateDirectories: false)
        for (i, title) in Self.titles.enumerated() {
            try title.write(toFile: dir + "/texts/d\(i + 1).txt", atomically: true, encoding: .utf8)
        }
        try ("document\tname\ttitle\n" + Self.titles.enumerated().map { "\($0)\tn\($0)\t\($1)" }.joined(separator: "\n") + "\n")
            .write(toFile: dir + "/titles.tsv", atomically: true, encoding: .utf8)
        func run(_ arguments: [String]) throws -> ProcessResult {
            let result = try CommandLineTests.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.error)")
            return result
        }
        _ = try run(["corpus", dir + "/texts", "--out", dir + "/docs"])
        _ = try run(["tfidf", dir + "/docs.mm", "--out", dir + "/docs.tfidf.mm", "--model", dir + "/docs.tfidf"])
        _ = try run(["lsi", dir + "/docs.tfidf.mm", "--vocab", dir + "/docs.vocab", "--topics", "2", "--out", dir + "/docs.lsi"])
        let built = try run(["index", dir + "/docs.mm", "--vocab", dir + "/docs.vocab", "--tfidf", dir + "/docs.tfidf",
                             "--model", dir + "/docs.lsi", "--titles", dir + "/titles.tsv", "--out", dir + "/docs.index"])
        #expect(built.error.contains("indexed 9 documents in 1 shards (dense, 2 dimensions, float32)"), "\(built.error)")

        // The same as the library's search with the same pipeline.
        let index = try SimilarityIndex(contentsOf: dir + "/docs.index")
        let vector = try QueryPipeline(index: index).vector(text: "graph minors trees").vector
        let expected = try index.similar(to: vector, top: 3)
        #expect(Set(expected.map(\.document)) == [6, 7, 8], "\(expected)")
        let text = try run(["similar", dir + "/docs.index", "graph minors trees", "--top", "3", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(text.output.utf8)) as? [[String: Any]]
        #expect(json?.compactMap { $0["document"] as? Int } == expected.map(\.document), "\(text.output)")
        #expect(json?.first?["title"] as? String == Self.titles[expected[0].document])
        let plain = try run(["similar", dir + "/docs.index", "--document", "0", "--top", "2"])
        #expect(plain.output.hasPrefix("1\t0\t1.000000\t\(Self.titles[0])\n"), "\(plain.output)")

        let unknown = try run(["similar", dir + "/docs.index", "zebra", "--json"])
        #expect(unknown.output == "[]\n" && unknown.error.contains("none of the query's 1 words is in the index's vocabulary"))

        _ = try run(["similar", dir + "/docs.index", "--queries", dir + "/docs.mm", "--top", "1", "--out", dir + "/q.tsv"])
        let lines = try String(contentsOfFile: dir + "/q.tsv", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 10 && lines[0] == "query\trank\tdocument\tscore\ttitle")
        // Each document's best match is itself, or one with the same topic vector.
        for line in lines.dropFirst() {
            let fields = line.split(separator: "\t")
            #expect(abs((Double(fields[3]) ?? 0) - 1) < 1e-5, "\(line)")
        }
        _ = try run(["similar", dir + "/docs.index", "--all", "--top", "2", "--out", dir + "/all.jsonl"])
        #expect(try String(contentsOfFile: dir + "/all.jsonl", encoding: .utf8).split(separator: "\n").count == 9)

        _ = try run(["index-remove", dir + "/docs.index", "6-8"])
        let removed = try run(["similar", dir + "/docs.index", "graph minors trees", "--top", "9", "--json"])
        let left = (try JSONSerialization.jsonObject(with: Data(removed.output.utf8)) as? [[String: Any]])?.compactMap { $0["document"] as? Int }
        #expect(left?.count == 6 && left?.contains { $0 >= 6 } == false, "\(removed.output)")
        _ = try run(["index-add", dir + "/docs.index", dir + "/docs.mm", "--titles", dir + "/titles.tsv"])
        let added = try run(["similar", dir + "/docs.index", "--document", "16", "--top", "1", "--json"])
        #expect(added.output.contains("\"document\": 16") && added.output.contains(Self.titles[7]), "\(added.output)")

        // Errors: a model that is not the index's, a document beyond it, two query kinds.
        _ = try run(["lsi", dir + "/docs.tfidf.mm", "--vocab", dir + "/docs.vocab", "--topics", "3", "--out", dir + "/other.lsi"])
        for (arguments, message) in [
            (["similar", dir + "/docs.index", "graph", "--model", dir + "/other.lsi"], "is not the topic model the index"),
            (["similar", dir + "/docs.index", "--document", "99"], "document 99 is not in the index"),
            (["similar", dir + "/docs.index", "graph", "--document", "1"], "give one of"),
            (["index-remove", dir + "/docs.index", "x-3"], "is not a document number"),
        ] {
            let failed = try CommandLineTests.run(arguments)
            #expect(failed.status != 0 && failed.error.contains(message), "\(arguments): \(failed.error)")
        }
    }

    @Test("an LDA index answers text queries; latent report writes the topics of LSI and LDA models as one HTML file, replacing only its own")
    func ldaIndexAndReport() throws {
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        _ = try ServerTests.makeIndex(in: dir)
        func run(_ arguments: [String]) throws -> ProcessResult {
            let result = try CommandLineTests.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.error)")
            return result
        }
        _ = try run(["lda", dir + "/docs.mm", "--vocab", dir + "/docs.vocab", "--topics", "2", "--passes", "20", "--seed", "1",
                     "--out", dir + "/docs.lda"])
        _ = try run(["index", dir + "/docs.mm", "--vocab", dir + "/docs.vocab", "--model", dir + "/docs.lda", "--out", dir + "/lda.index"])
        let index = try SimilarityIndex(contentsOf: dir + "/lda.index")
        #expect(index.isDense && index.dimension == 2 && index.documentCount == 9)
        let query = try QueryPipeline(index: index).vector(text: "graph minors trees")
        let lda = try LDAModel(contentsOf: dir + "/docs.lda")
        let bag = try #require(lda.vocabulary).bagOfWords(["graph", "minors", "trees"])
        #expect(query.vector.weights == (try lda.documentTopics(bag)).map(\.probability))
        let found = try run(["similar", dir + "/lda.index", "graph minors trees", "--top", "3", "--json"])
        #expect(found.output == index.json(try index.similar(to: query.vector, top: 3)) + "\n")

        for model in ["docs.lsi", "docs.lda"] {
            let report = dir + "/\(model).html"
            _ = try run(["report", dir + "/" + model, "--out", report])
            let html = try String(contentsOfFile: report, encoding: .utf8)
            #expect(html.hasPrefix("<!DOCTYPE html><!-- Latent report -->\n") && html.contains("<svg class=\"bars\""))
            #expect(html.contains("<svg class=\"spectrum\"") == (model == "docs.lsi"))
            #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"))
            let terms = model == "docs.lsi" ? try LSIModel(contentsOf: dir + "/" + model).topic(0, top: 3).map(\.term)
                : lda.topicTerms(0, top: 3).map { lda.vocabulary?[Int32($0.term)] ?? "" }
            for term in terms { #expect(html.contains(">\(term)<title>"), "\(model): \(term)") }
            _ = try run(["report", dir + "/" + model, "--out", report])
        }
        try "<html>mine</html>".write(toFile: dir + "/mine.html", atomically: true, encoding: .utf8)
        let refused = try CommandLineTests.run(["report", dir + "/docs.lsi", "--out", dir + "/mine.html"])
        let mine = try String(contentsOfFile: dir + "/mine.html", encoding: .utf8)
        #expect(refused.status != 0 && mine == "<html>mine</html>", "\(refused.error)")
    }
}
