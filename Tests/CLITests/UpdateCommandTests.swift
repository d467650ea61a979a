import Foundation
import Latent
import TestSupport
import Testing

/// `latent lsi --update`: a saved model trained further on new documents, through the files.
@Suite("latent lsi --update", .serialized, .timeLimit(.minutes(5)))
struct UpdateCommandTests {
    @Test("two halves, the second through --update, match one run on the whole and the exact SVD (the LSI tests' tolerances)")
    func planted() throws {
        let planted = PlantedCorpus.shared
        let (exactU, exactS) = try planted.exact
        let dir = try TemporaryDirectory()
        let documents = planted.corpus.documents
        try MatrixMarketWriter.write(InMemoryCorpus(Array(documents[..<2500]), termCount: planted.terms), to: dir.file("a.mm"),
                                     termCount: planted.terms)
        try MatrixMarketWriter.write(InMemoryCorpus(Array(documents[2500...]), termCount: planted.terms), to: dir.file("b.mm"),
                                     termCount: planted.terms)
        try MatrixMarketWriter.write(planted.corpus, to: dir.file("all.mm"), termCount: planted.terms)
        let k = 10
        let settings = ["--topics", "\(k)", "--chunk-size", "1000", "--seed", "3"]
        for (corpus, model) in [("a.mm", "a.lsi"), ("all.mm", "all.lsi")] {
            let result = try CommandLineTests.run(["lsi", dir.file(corpus), "--out", dir.file(model)] + settings)
            try #require(result.status == 0, "\(result.error)")
        }
        // The update keeps the model's settings; asking for others is refused.
        var result = try CommandLineTests.run(["lsi", dir.file("b.mm"), "--update", dir.file("a.lsi"), "--out", dir.file("ab.lsi"),
                                               "--topics", "20"])
        #expect(result.status == 64 && result.error.contains("--topics: an update keeps the settings of the model it updates"),
                "\(result.error)")
        result = try CommandLineTests.run(["lsi", dir.file("b.mm"), "--update", dir.file("a.lsi"), "--out", dir.file("ab.lsi"),
                                           "--chunk-size", "1000"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("updating the LSI model \(dir.file("a.lsi")) (10 topics from 2500 documents)"), "\(result.error)")
        let update = try LSIModel(contentsOf: dir.file("ab.lsi"))
        let whole = try LSIModel(contentsOf: dir.file("all.lsi"))
        #expect(update.documentsProcessed == 5000 && update.parameters.seed == 3)
        for model in [update, whole] {
            #expect(worstRelativeError(exactS, model.singularValues, k: k) <= 0.01)
            #expect(subspaceSimilarity(exactU, model.leftSingularVectors, k: k) >= 0.99)
        }
        #expect(worstRelativeError(whole.singularValues, update.singularValues, k: k) <= 0.01)
        #expect(subspaceSimilarity(whole.leftSingularVectors, update.leftSingularVectors, k: k) >= 0.99)
        // Updating in place replaces the model folder with the updated model.
        result = try CommandLineTests.run(["lsi", dir.file("b.mm"), "--update", dir.file("a.lsi"), "--out", dir.file("a.lsi")])
        #expect(result.status == 0, "\(result.error)")
        #expect(try LSIModel(contentsOf: dir.file("a.lsi")).documentsProcessed == 5000)
    }

    @Test("a corpus of another vocabulary is refused naming both files")
    func mismatch() throws {
        let dir = try TemporaryDirectory()
        try dir.write("t.txt", LSICommandTests.titles)
        try dir.write("other.txt", "zebra quagga okapi\nokapi zebra\n")
        for (source, prefix) in [("t.txt", "c"), ("other.txt", "o")] {
            let result = try CommandLineTests.run(["corpus", dir.file(source), "--out", dir.file(prefix)])
            try #require(result.status == 0, "\(result.error)")
        }
        var result = try CommandLineTests.run(["lsi", dir.file("c.mm"), "--vocab", dir.file("c.vocab"), "--topics", "2",
                                               "--out", dir.file("m")])
        try #require(result.status == 0, "\(result.error)")
        let before = try dir.snapshot()
        result = try CommandLineTests.run(["lsi", dir.file("o.mm"), "--update", dir.file("m"), "--vocab", dir.file("o.vocab"),
                                           "--out", dir.file("m")])
        #expect(result.status == 1, "\(result.error)")
        #expect(result.error.contains("\(dir.file("o.vocab")) does not match the vocabulary of the model \(dir.file("m")): term id 0 is 'okapi'"),
                "\(result.error)")
        result = try CommandLineTests.run(["project", dir.file("m"), dir.file("o.mm"), "--vocab", dir.file("o.vocab"),
                                           "--out", dir.file("p.tsv")])
        #expect(result.status == 1 && result.error.contains("does not match the vocabulary of the model"), "\(result.error)")
        #expect(try dir.snapshot() == before)
    }
}
