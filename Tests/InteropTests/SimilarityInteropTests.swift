import Foundation
import Latent
import TestSupport
import Testing

/// Latent's similarity index against gensim 4.4.0's MatrixSimilarity, SparseMatrixSimilarity
/// and sharded Similarity on the same generated vectors (Tests/Interop/similarity_reference.py):
/// the same top 10 documents with similarities within 1e-5, ranked by magnitude as gensim does.
@Suite("gensim similarity", .serialized, .timeLimit(.minutes(10)))
struct SimilarityInteropTests {
    typealias Ranked = [[Double]]

    /// Checks one query's results against gensim's: rank by rank the similarities agree to
    /// 1e-5, and so does every document both name; a document only one names must sit at the
    /// boundary (its similarity within 1e-5 of gensim's tenth), where float rounding may
    /// order near-equal values either way.
    static func check(_ ours: [SimilarityResult], _ theirs: Ranked, _ what: String) -> Int {
        var mismatches = 0
        guard ours.count == theirs.count else {
            Issue.record("\(what): \(ours.count) results, gensim gave \(theirs.count)")
            return 1
        }
        let expected = Dictionary(uniqueKeysWithValues: theirs.map { (Int($0[0]), $0[1]) })
        let last = abs(theirs.last?[1] ?? 0)
        for (rank, result) in ours.enumerated() {
            if abs(result.score - theirs[rank][1]) > 1e-5 {
                Issue.record("\(what), rank \(rank + 1): similarity \(result.score), gensim's \(theirs[rank][1])")
                mismatches += 1
            }
            if let score = expected[result.document] {
                if abs(score - result.score) > 1e-5 {
                    Issue.record("\(what): document \(result.document) at \(result.score), gensim's \(score)")
                    mismatches += 1
                }
            } else if abs(abs(result.score) - last) > 1e-5 {
                Issue.record("\(what): document \(result.document) (\(result.score)) is not among gensim's top \(theirs.count)")
                mismatches += 1
            }
        }
        return mismatches
    }

    @Test("top 10 of single, batch and all-pairs queries equal MatrixSimilarity's, SparseMatrixSimilarity's and sharded Similarity's (documents, similarities within 1e-5)")
    func sameAsGensim() throws {
        guard let python = try GensimInteropTests.python() else { return }
        let temporary = try TemporaryDirectory()
        let dir = temporary.path
        let reference = try runProcess(python, [GensimInteropTests.interopFolder + "/similarity_reference.py", dir])
        try #require(reference.status == 0, "similarity_reference.py: \(reference.error)")
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/results.json"))
        let results = try JSONDecoder().decode([String: [String: [Ranked]]].self, from: data)

        let cases: [(name: String, corpus: String, dense: Bool, dimension: Int, shardSize: Int)] = [
            ("matrix", "dense", true, 50, 32768), ("sharded-dense", "dense", true, 50, 700),
            ("sparse", "sparse", false, 500, 32768), ("sharded-sparse", "sparse", false, 500, 700),
        ]
        for test in cases {
            let gensim = try #require(results[test.name])
            let corpus = try MatrixMarketCorpus(path: "\(dir)/\(test.corpus).mm")
            let (index, report) = try SimilarityIndex.build(
                corpus, at: "\(dir)/\(test.name).index", dense: test.dense, dimension: test.dimension,
                settings: IndexSettings(shardSize: test.shardSize))
            #expect(report.shards == (test.shardSize == 700 ? (test.dense ? 5 : 3) : 1))
            let queries = try MatrixMarketCorpus(path: "\(dir)/\(test.corpus)-queries.mm").allDocuments()
            var mismatches = 0
            for (q, query) in queries.enumerated() {
                let single = try index.similar(to: query, top: 10, order: .magnitude)
                mismatches += Self.check(single, try #require(gensim["single"]?[q]), "\(test.name) single query \(q)")
            }
            let batch = try index.similar(toBatch: queries, top: 10, order: .magnitude)
            for (q, found) in batch.enumerated() {
                mismatches += Self.check(found, try #require(gensim["batch"]?[q]), "\(test.name) batch query \(q)")
            }
            var documents = 0
            let all = try #require(gensim["all"])
            try index.allPairs(top: 10, order: .magnitude, blockSize: 333) { document, found in
                #expect(document == documents)
                mismatches += Self.check(found, all[document], "\(test.name) all pairs, document \(document)")
                documents += 1
            }
            #expect(documents == all.count)
            #expect(mismatches == 0)
            print("\(test.name): \(queries.count) single and batch queries and \(documents) all-pairs queries compared with gensim, \(mismatches) mismatches")
        }
    }
}
