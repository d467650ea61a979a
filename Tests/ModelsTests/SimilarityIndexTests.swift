import Foundation
import LatentCorpus
import LatentLinearAlgebra
import LatentKernels
@testable import LatentModels
import TestSupport
import Testing

@Suite("similarity index")
struct SimilarityIndexTests {
    /// Random documents: dense ones fill every dimension with signed values; sparse ones fill
    /// about a tenth with positive values.
    static func documents(_ count: Int, dimension: Int, dense: Bool, seed: UInt64) -> [SparseDocument] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            var ids: [Int32] = [], values: [Double] = []
            for j in 0..<dimension {
                let value = generator.nextGaussian()
                if dense {
                    ids.append(Int32(j))
                    values.append(value)
                } else if value > 1.3 {
                    ids.append(Int32(j))
                    values.append(value - 1)
                }
            }
            return SparseDocument(uncheckedTermIDs: ids, weights: values)
        }
    }

    /// The cosine similarities of `query` to every document, in Float64.
    static func bruteForce(_ query: SparseDocument, _ documents: [SparseDocument], dimension: Int) -> [Double] {
        func dense(_ d: SparseDocument) -> [Double] {
            var v = [Double](repeating: 0, count: dimension)
            for (id, value) in zip(d.termIDs, d.weights) { v[Int(id)] = value }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? v.map { $0 / norm } : v
        }
        let q = dense(query)
        return documents.map { d in zip(dense(d), q).reduce(0) { $0 + $1.0 * $1.1 } }
    }

    static func expectedTop(_ scores: [Double], top: Int, order: SimilarityOrder, removed: Set<Int> = []) -> [Int] {
        let candidates = scores.indices.filter { !removed.contains($0) && (order == .similarity || abs(scores[$0]) > 1e-9) }
        let key = { (i: Int) in order == .similarity ? scores[i] : abs(scores[i]) }
        return Array(candidates.sorted { key($0) > key($1) || (key($0) == key($1) && $0 < $1) }.prefix(top))
    }

    @Test("Float64 dense and sparse indexes in several shards give the exact top 10 by similarity and by magnitude, single and batch, to 1e-12")
    func exactTopN() throws {
        let temporary = try TemporaryDirectory()
        for dense in [true, false] {
            let dimension = dense ? 24 : 300
            let documents = Self.documents(700, dimension: dimension, dense: dense, seed: dense ? 1 : 2)
            let queries = Self.documents(12, dimension: dimension, dense: dense, seed: 3)
            let (index, report) = try SimilarityIndex.build(
                InMemoryCorpus(documents), at: temporary.path + "/\(dense).index", dense: dense, dimension: dimension,
                settings: IndexSettings(float64: true, shardSize: 128))
            #expect(report.shards == 6 && report.documents == 700)
            #expect(index.shardCount == 6 && index.documentCount == 700 && index.isDense == dense)
            for order in [SimilarityOrder.similarity, .magnitude] {
                let batch = try index.similar(toBatch: queries, top: 10, order: order, threads: 2)
                for (q, query) in queries.enumerated() {
                    let scores = Self.bruteForce(query, documents, dimension: dimension)
                    let expected = Self.expectedTop(scores, top: 10, order: order)
                    let single = try index.similar(to: query, top: 10, order: order, threads: 2)
                    for found in [single, batch[q]] {
                        #expect(found.map(\.document) == expected, "dense \(dense), \(order), query \(q)")
                        for result in found { #expect(abs(result.score - scores[result.document]) <= 1e-12) }
                    }
                }
            }
        }
    }

    @Test("equal similarities are ranked by document number; a zero query or a zero document matches with 0, and magnitude order leaves them out")
    func tiesAndZeros() throws {
        let temporary = try TemporaryDirectory()
        let same = SparseDocument(uncheckedTermIDs: [0, 1], weights: [1, 1])
        let documents = [SparseDocument(), same, SparseDocument(uncheckedTermIDs: [2], weights: [5]), same, same]
        let (index, report) = try SimilarityIndex.build(InMemoryCorpus(documents), at: temporary.path + "/i", dense: false,
                                                        dimension: 3, settings: IndexSettings(shardSize: 2))
        #expect(report.emptyDocuments == 1)
        let found = try index.similar(to: SparseDocument(uncheckedTermIDs: [0, 1], weights: [2, 2]), top: 5)
        #expect(found.map(\.document) == [1, 3, 4, 0, 2])
        #expect(found.prefix(3).allSatisfy { abs($0.score - 1) < 1e-6 } && found[3].score == 0 && found[4].score == 0)
        #expect(try index.similar(to: same, top: 5, order: .magnitude).map(\.document) == [1, 3, 4])
        #expect(try index.similar(to: SparseDocument(), top: 3, order: .magnitude).isEmpty)
    }

    @Test("a moved index folder opens; documents added and removed survive reopening; numbers are never given twice")
    func movedAddedRemoved() throws {
        let temporary = try TemporaryDirectory()
        let first = Self.documents(50, dimension: 8, dense: true, seed: 4)
        let more = Self.documents(30, dimension: 8, dense: true, seed: 5)
        let built = temporary.path + "/built.index", moved = temporary.path + "/elsewhere/moved.index"
        let (index, _) = try SimilarityIndex.build(InMemoryCorpus(first), at: built, dense: true, dimension: 8,
                                                   settings: IndexSettings(shardSize: 16))
        let before = try index.similar(to: more[0], top: 7)
        try FileManager.default.createDirectory(atPath: temporary.path + "/elsewhere", withIntermediateDirectories: false)
        try FileManager.default.moveItem(atPath: built, toPath: moved)
        let reopened = try SimilarityIndex(contentsOf: moved)
        #expect(try reopened.similar(to: more[0], top: 7) == before)

        let (grown, report) = try reopened.adding(InMemoryCorpus(more))
        #expect(report.documents == 30 && grown.documentNumbers == 80 && grown.documentCount == 80)
        #expect(try grown.similar(to: more[3], top: 1).first?.document == 53)
        let reduced = try grown.removing([53, 0, 79])
        #expect(reduced.documentCount == 77)
        for index in [reduced, try SimilarityIndex(contentsOf: moved)] {
            let found = try index.similar(to: more[3], top: 80)
            #expect(found.count == 77 && !found.contains { [53, 0, 79].contains($0.document) })
            #expect(throws: ModelError.self) { try index.similar(toDocument: 53) }
        }
        let (again, _) = try SimilarityIndex(contentsOf: moved).adding(InMemoryCorpus([more[3]]))
        #expect(again.documentNumbers == 81)
        #expect(try again.similar(to: more[3], top: 1).first?.document == 80)
        #expect(throws: ModelError.self) { try again.removing([81]) }
        // Only the files index.json names are left: superseded removed lists are deleted.
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: moved))
        #expect(files == Set(again.manifest.files))
    }

    @Test("a truncated or corrupt shard, a query of the wrong dimension or with NaN, and a bad index.json each get a clear error")
    func badInput() throws {
        let temporary = try TemporaryDirectory()
        let path = temporary.path + "/i"
        let (index, _) = try SimilarityIndex.build(InMemoryCorpus(Self.documents(40, dimension: 6, dense: true, seed: 6)),
                                                   at: path, dense: true, dimension: 6, settings: IndexSettings(shardSize: 16))
        let query = SparseDocument(uncheckedTermIDs: [0, 5], weights: [1, 2])
        #expect(throws: ModelError.self) { try index.similar(to: SparseDocument(uncheckedTermIDs: [6], weights: [1])) }
        #expect(throws: ModelError.self) { try index.similar(to: SparseDocument(uncheckedTermIDs: [1], weights: [.nan])) }

        // Truncated: one value short.
        let shard = path + "/shard-0-1.npy"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: shard))
        try bytes.dropLast(4).write(to: URL(fileURLWithPath: shard))
        do {
            _ = try SimilarityIndex(contentsOf: path).similar(to: query)
            Issue.record("a truncated shard was searched")
        } catch let error as CorpusError {
            #expect(error.file == shard && error.message.contains("data bytes"), "\(error)")
        }
        // Another header.
        var corrupt = bytes
        corrupt[0] = 0x42
        try corrupt.write(to: URL(fileURLWithPath: shard))
        #expect(throws: CorpusError.self) { try SimilarityIndex(contentsOf: path).similar(to: query) }
        // A shard of another shape.
        try Data(NumPyArray(shape: [16, 5], element: .float32, values: .init(repeating: 0, count: 80)).encoded())
            .write(to: URL(fileURLWithPath: shard))
        #expect(throws: CorpusError.self) { try SimilarityIndex(contentsOf: path).similar(to: query) }

        // index.json that leaves the folder, or whose shards do not add up.
        let manifestPath = path + "/index.json"
        let original = try String(contentsOfFile: manifestPath, encoding: .utf8)
        for (from, to) in [("\"shard-0-2\"", "\"../shard-0-2\""), ("\"documents\" : 40", "\"documents\" : 41"),
                           ("\"kind\" : \"dense\"", "\"kind\" : \"round\""), ("\"format_version\" : 1", "\"format_version\" : 9")] {
            #expect(original.contains(from))
            try original.replacingOccurrences(of: from, with: to).write(toFile: manifestPath, atomically: true, encoding: .utf8)
            #expect(throws: CorpusError.self, "\(to)") { try SimilarityIndex(contentsOf: path) }
        }
        try "{\"format\": 3}".write(toFile: manifestPath, atomically: true, encoding: .utf8)
        #expect(throws: CorpusError.self) { try SimilarityIndex(contentsOf: path) }
    }

    @Test("an index replaces only an index folder holding nothing else; a failed build leaves what was there")
    func outputSafety() throws {
        let temporary = try TemporaryDirectory()
        let documents = InMemoryCorpus(Self.documents(10, dimension: 4, dense: true, seed: 7))
        let path = temporary.path + "/i"
        _ = try SimilarityIndex.build(documents, at: path, dense: true, dimension: 4)
        _ = try SimilarityIndex.build(documents, at: path, dense: true, dimension: 4, settings: IndexSettings(shardSize: 3))
        #expect(try SimilarityIndex(contentsOf: path).shardCount == 4)
        try "mine".write(toFile: path + "/notes.txt", atomically: true, encoding: .utf8)
        #expect(throws: CorpusError.self) { try SimilarityIndex.build(documents, at: path, dense: true, dimension: 4) }
        #expect(FileManager.default.fileExists(atPath: path + "/notes.txt"))
        let other = temporary.path + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: false)
        try "x".write(toFile: other + "/a", atomically: true, encoding: .utf8)
        #expect(throws: CorpusError.self) { try SimilarityIndex.build(documents, at: other, dense: true, dimension: 4) }
        // A document beyond the dimension fails the build; nothing is left behind.
        let bad = InMemoryCorpus([SparseDocument(uncheckedTermIDs: [9], weights: [1])])
        #expect(throws: ModelError.self) { try SimilarityIndex.build(bad, at: temporary.path + "/new", dense: true, dimension: 4) }
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary.path).sorted()
        #expect(left == ["i", "other"])
    }

    @Test("a text query goes through the index's vocabulary and TF-IDF model, found from a moved folder; another vocabulary is refused")
    func pipeline() throws {
        let temporary = try TemporaryDirectory()
        let texts = [["graph", "minors", "trees"], ["user", "interface", "system"], ["trees", "graph"], ["system", "response", "time"]]
        var vocabulary = Vocabulary()
        vocabulary.add(documents: texts)
        let bags = InMemoryCorpus(texts.map { vocabulary.bagOfWords($0) })
        let tfidf = try TFIDFModel(corpus: bags)
        let models = temporary.path + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: false)
        try vocabulary.write(to: models + "/docs.vocab")
        try tfidf.save(to: models + "/docs.tfidf")
        let (index, _) = try SimilarityIndex.build(
            tfidf.transformed(bags), at: models + "/docs.index", dense: false, dimension: vocabulary.idBound,
            sources: IndexSources(vocabulary: models + "/docs.vocab", tfidf: models + "/docs.tfidf"))
        let query = try QueryPipeline(index: index).vector(text: "Graph trees, and a zebra")
        #expect(query.known == 2 && query.unknown == 2)
        let found = try index.similar(to: query.vector, top: 2)
        #expect(found.map(\.document) == [2, 0])

        // The whole tree moved: found by its path from the index folder.
        let moved = temporary.path + "/moved"
        try FileManager.default.moveItem(atPath: models, toPath: moved)
        let reopened = try SimilarityIndex(contentsOf: moved + "/docs.index")
        #expect(try reopened.similar(to: try QueryPipeline(index: reopened).vector(text: "graph trees").vector, top: 2) == found)

        var other = Vocabulary()
        other.add(documents: [["graph", "zebra"]])
        try other.write(to: temporary.path + "/other.vocab")
        #expect(throws: ModelError.self) {
            try QueryPipeline(index: reopened, sources: IndexSources(vocabulary: temporary.path + "/other.vocab"))
        }
        #expect(throws: ModelError.self) {
            try QueryPipeline(index: reopened, sources: IndexSources(model: temporary.path + "/other.vocab"))
        }
    }

    @Test("screening through the half-precision copy gives the exact search's results, both orders, both precisions, with removed documents; half rounding is IEEE's")
    func screening() throws {
        let temporary = try TemporaryDirectory()
        // Clustered vectors, so that many similarities lie close together near the top.
        var generator = SeededGenerator(seed: 9)
        let centres = (0..<20).map { _ in (0..<40).map { _ in generator.nextGaussian() } }
        let documents = (0..<3000).map { i -> SparseDocument in
            let values = centres[i % 20].map { $0 + 0.3 * generator.nextGaussian() }
            return SparseDocument(uncheckedTermIDs: (0..<40).map { Int32($0) }, weights: values)
        }
        let queries = Self.documents(25, dimension: 40, dense: true, seed: 10)
            + (0..<25).map { i in SparseDocument(uncheckedTermIDs: (0..<40).map { Int32($0) }, weights: centres[i % 20]) }
        for float64 in [false, true] {
            let (screened, _) = try SimilarityIndex.build(InMemoryCorpus(documents), at: temporary.path + "/s\(float64)", dense: true,
                                                          dimension: 40, settings: IndexSettings(float64: float64, shardSize: 700))
            let (plain, _) = try SimilarityIndex.build(InMemoryCorpus(documents), at: temporary.path + "/p\(float64)", dense: true,
                                                       dimension: 40, settings: IndexSettings(float64: float64, shardSize: 700, screening: false))
            #expect(screened.manifest.screening == "float16" && plain.manifest.screening == nil)
            #expect(FileManager.default.fileExists(atPath: temporary.path + "/s\(float64)/shard-0-0.f16.npy"))
            for (a, b) in [(screened, plain), (try screened.removing(Array(0..<3000).filter { $0 % 3 == 0 }),
                                               try plain.removing(Array(0..<3000).filter { $0 % 3 == 0 }))] {
                for order in [SimilarityOrder.similarity, .magnitude] {
                    for (q, query) in queries.enumerated() {
                        for threads in [1, 2] {
                            let found = try a.similar(to: query, top: 15, order: order, threads: threads)
                            let expected = try b.similar(toBatch: [query, query, query, query], top: 15, order: order)[0]
                            #expect(found.map(\.document) == expected.map(\.document), "float64 \(float64), \(order), query \(q)")
                            for (x, y) in zip(found, expected) { #expect(abs(x.score - y.score) <= (float64 ? 1e-12 : 1e-5)) }
                        }
                    }
                }
            }
        }
        // Half rounding against Swift's Float16 on every sign, exponent and edge.
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 6.1035156e-05, 5.9604645e-08, 2.9802322e-08,
                               2.9802326e-08, 1e-9, .infinity, -.infinity, 0.1, 1.0009766, 1.0004883, 1.0014648]
        for _ in 0..<20000 { values.append(Float(generator.nextGaussian() * pow(2, Double(Int.random(in: -30...18, using: &generator))))) }
        var halves = [UInt16](repeating: 0, count: values.count)
        latent_half_from_float(values, &halves, values.count)
        for (value, half) in zip(values, halves) {
            #expect(half == Float16(value).bitPattern, "\(value): \(String(half, radix: 16)), Float16 says \(String(Float16(value).bitPattern, radix: 16))")
            #expect(latent_float_from_half(half).bitPattern == Float(Float16(bitPattern: half)).bitPattern)
        }
    }
}
