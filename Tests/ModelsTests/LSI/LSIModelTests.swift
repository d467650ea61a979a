import Foundation
import LatentCorpus
import LatentLinearAlgebra
@testable import LatentModels
import TestSupport
import Testing

@Suite("LSI model")
struct LSIModelTests {
    static let topic0 = "0.644*\"system\" + 0.404*\"user\" + 0.301*\"eps\" + 0.265*\"response\" + 0.265*\"time\""
    static let topic1 = "0.623*\"graph\" + 0.490*\"trees\" + 0.451*\"minors\" + 0.274*\"survey\" + -0.167*\"system\""

    /// The topic string with every weight's sign flipped: a topic is defined up to sign.
    static func negated(_ topic: String) -> String {
        topic.components(separatedBy: " + ").map { $0.hasPrefix("-") ? String($0.dropFirst()) : "-" + $0 }
            .joined(separator: " + ")
    }

    static func matchesUpToSign(_ actual: String, _ expected: String) -> Bool {
        let actual = orderingTies(actual)
        return actual == orderingTies(expected) || actual == orderingTies(negated(expected))
    }

    /// The topic with runs of equal printed weights in alphabetical order: "response" and
    /// "time" have exactly equal weights, so which comes first is decided by rounding.
    static func orderingTies(_ topic: String) -> String {
        var parts = topic.components(separatedBy: " + ")
        var start = 0
        while start < parts.count {
            let weight = parts[start].components(separatedBy: "*").first
            var end = start + 1
            while end < parts.count && parts[end].components(separatedBy: "*").first == weight { end += 1 }
            parts[start..<end].sort()
            start = end
        }
        return parts.joined(separator: " + ")
    }

    @Test("the 9-document example gives gensim's topics and keeps its 9 factors",
          arguments: [1, 2, 4, 9], LSIAlgorithm.allCases)
    func deerwester(chunkSize: Int, algorithm: LSIAlgorithm) async throws {
        let (vocabulary, corpus) = DeerwesterExample.corpus()
        #expect(vocabulary.idBound == 12)
        let exact = try corpus.denseMatrix(terms: 12).svd().s
        for precision in Precision.allCases {
            let model = try await LSIModel(corpus: corpus, vocabulary: vocabulary, topics: 200, chunkSize: chunkSize,
                                           algorithm: algorithm, precision: precision)
            #expect(model.topicCount == 9, "\(precision)")
            #expect(Self.matchesUpToSign(try model.formattedTopic(0, top: 5), Self.topic0), "\(precision)")
            #expect(Self.matchesUpToSign(try model.formattedTopic(1, top: 5), Self.topic1), "\(precision)")
            let tolerance = precision == .float64 ? 1e-10 : 1e-5
            #expect(worstRelativeError(exact, model.singularValues, k: 9) <= tolerance, "\(precision)")
            #expect(model.documentsProcessed == 9)
        }
    }

    @Test("one-pass and multi-pass match an exact SVD of a planted-structure corpus", arguments: [500, 1250, 5000])
    func accuracy(chunkSize: Int) async throws {
        let planted = PlantedCorpus.shared
        let (exactU, exactS) = try planted.exact
        let k = 10
        let onePass = try await LSIModel(corpus: planted.corpus, termCount: planted.terms, topics: k, chunkSize: chunkSize, seed: 1)
        #expect(worstRelativeError(exactS, onePass.singularValues, k: k) <= 0.01)
        #expect(subspaceSimilarity(exactU, onePass.leftSingularVectors, k: k) >= 0.99)

        let multiPass = try await LSIModel(corpus: planted.corpus, termCount: planted.terms, topics: k, chunkSize: chunkSize,
                                           algorithm: .multiPass, seed: 1)
        #expect(worstRelativeError(exactS, multiPass.singularValues, k: k) <= 0.001)
        #expect(subspaceSimilarity(exactU, multiPass.leftSingularVectors, k: k) >= 0.99)
    }

    @Test("multi-pass recovers an exactly low-rank corpus to Float64 accuracy (its early power iterations run in Float32)",
          arguments: [1, 2, 3])
    func lowRankExact(powerIterations: Int) async throws {
        // 300 terms x 900 documents of rank 6: A = W H with Gaussian factors.
        var generator = SeededGenerator(seed: 21)
        let w = Matrix<Double>.gaussian(rows: 300, columns: 6, using: &generator)
        let h = Matrix<Double>.gaussian(rows: 6, columns: 900, using: &generator)
        let a = w * h
        let documents = (0..<900).map { j in
            SparseDocument(uncheckedTermIDs: (0..<300).map { Int32($0) }, weights: (0..<300).map { a[$0, j] })
        }
        let corpus = InMemoryCorpus(documents, termCount: 300)
        let (u, s, _) = try a.svd()
        let model = try await LSIModel(corpus: corpus, termCount: 300, topics: 6, chunkSize: 400,
                                       powerIterations: powerIterations, oversampling: 4, algorithm: .multiPass, seed: 5)
        #expect(model.topicCount == 6)
        #expect(worstRelativeError(s, model.singularValues, k: 6) <= 1e-12)
        // Each topic lies in the exact span to 1e-12: its part outside U₆U₆ᵀ (subspace
        // similarity would only see that part squared).
        let exact = u.leadingColumns(6), topics = model.leftSingularVectors
        let outside = topics - exact * Matrix.product(exact, transposeA: true, topics)
        #expect(outside.storage.map(abs).max() ?? 0 <= 1e-12)
    }

    /// One chunk holding `documents`.
    static func chunk(_ documents: [SparseDocument]) -> SparseChunk {
        var chunk = SparseChunk(reservingDocuments: documents.count)
        for document in documents { chunk.append(document) }
        return chunk
    }

    /// The chunk of a dense terms x documents matrix (its non-zero entries).
    static func chunk(_ a: Matrix<Double>) -> SparseChunk {
        chunk((0..<a.columns).map { j in
            let rows = (0..<a.rows).filter { a[$0, j] != 0 }
            return SparseDocument(uncheckedTermIDs: rows.map { Int32($0) }, weights: rows.map { a[$0, j] })
        })
    }

    /// A chunk of 300 terms x 900 documents of rank 6, as in the multi-pass test above, with
    /// its left singular vectors and singular values.
    static func lowRankChunk() throws -> (chunk: SparseChunk, u: Matrix<Double>, s: [Double]) {
        var generator = SeededGenerator(seed: 21)
        let a = Matrix<Double>.gaussian(rows: 300, columns: 6, using: &generator) * Matrix<Double>.gaussian(rows: 6, columns: 900, using: &generator)
        let (u, s, _) = try a.svd()
        return (chunk(a), u, s)
    }

    /// Expects the exactly rank-6 chunk recovered to 1e-12: its 6 singular values, and a basis
    /// inside its left singular subspace.
    static func expectRecovered(_ projection: LSIProjection<Double>, u: Matrix<Double>, s: [Double]) {
        #expect(projection.rank == 6)
        #expect(worstRelativeError(s, projection.singularValues, k: 6) <= 1e-12)
        let exact = u.leadingColumns(6), topics = projection.basis.transposed()
        let outside = topics - exact * Matrix.product(exact, transposeA: true, topics)
        #expect(outside.storage.map(abs).max() ?? 0 <= 1e-12)
    }

    @Test("one-pass Float64 with its power iterations in Float32: an exactly low-rank chunk to 1e-12, a planted one as in Float64",
          arguments: [1, 2])
    func onePassReducedPrecision(powerIterations: Int) async throws {
        func decomposition(terms: Int, sketch: Int, keep: Int, reduced: Bool) -> OnePassDecomposition<Double> {
            OnePassDecomposition<Double>(termCount: terms, sketchSize: sketch, keep: keep, powerIterations: powerIterations,
                                         decay: 1, seed: 9, firstChunk: 0, reducedPrecisionWork: reduced ? 0 : .max)
        }
        let (lowRank, u, s) = try Self.lowRankChunk()
        let mixed = try decomposition(terms: 300, sketch: 10, keep: 6, reduced: true).process(lowRank, index: 0)
        let full = try decomposition(terms: 300, sketch: 10, keep: 6, reduced: false).process(lowRank, index: 0)
        // The Float32 path was taken: the bits differ from the Float64 one's.
        #expect(mixed.basis.storage != full.basis.storage)
        Self.expectRecovered(mixed, u: u, s: s)

        // (The planted chunk takes most of the test's time: once, with two iterations.)
        guard powerIterations == 2 else { return }
        // Planted structure plus noise (2,000 terms x 5,000 documents, 12 topics): 30 factors
        // from a sketch of 40 columns, deep into the noise, where the randomized SVD's own
        // error in the singular values is 0.10-0.15. Float32 iterations move each singular
        // value by about 3e-6 (relative) and the subspace similarity by about 2e-7 (measured
        // with 1 and 2 iterations; bounds with a margin of 5).
        let planted = PlantedCorpus.shared
        let (exactU, exactS) = try planted.exact
        let whole = Self.chunk(planted.corpus.documents)
        let plantedMixed = try decomposition(terms: planted.terms, sketch: 40, keep: 30, reduced: true).process(whole, index: 0)
        let plantedFull = try decomposition(terms: planted.terms, sketch: 40, keep: 30, reduced: false).process(whole, index: 0)
        #expect(plantedMixed.basis.storage != plantedFull.basis.storage)
        let errorMixed = worstRelativeError(exactS, plantedMixed.singularValues, k: 30)
        let errorFull = worstRelativeError(exactS, plantedFull.singularValues, k: 30)
        #expect(errorFull > 1e-4)
        #expect(abs(errorMixed - errorFull) <= 1e-4 * errorFull)
        let similarityMixed = subspaceSimilarity(exactU, plantedMixed.basis.transposed(), k: 30)
        let similarityFull = subspaceSimilarity(exactU, plantedFull.basis.transposed(), k: 30)
        #expect(abs(similarityMixed - similarityFull) <= 1e-6)
        let spread = zip(plantedMixed.singularValues, plantedFull.singularValues).map { abs($0 - $1) / $1 }.max() ?? 0
        #expect(spread <= 2e-5)
    }

    @Test("one-pass with products steered in half precision: an exactly low-rank chunk to 1e-12 in Float64; a planted one as with Float32 steering, in Float64 and Float32")
    func onePassHalfPrecision() async throws {
        func decomposition<S: LinearAlgebraScalar>(_: S.Type, terms: Int, sketch: Int, keep: Int, halves: Bool) -> OnePassDecomposition<S> {
            OnePassDecomposition<S>(termCount: terms, sketchSize: sketch, keep: keep, powerIterations: 2, decay: 1, seed: 9,
                                    firstChunk: 0, reducedPrecisionWork: 0, halfPrecisionWork: halves ? 0 : .max)
        }
        let (lowRank, u, s) = try Self.lowRankChunk()
        let halves = try decomposition(Double.self, terms: 300, sketch: 10, keep: 6, halves: true).process(lowRank, index: 0)
        let float32 = try decomposition(Double.self, terms: 300, sketch: 10, keep: 6, halves: false).process(lowRank, index: 0)
        #expect(halves.basis.storage != float32.basis.storage)
        Self.expectRecovered(halves, u: u, s: s)

        let planted = PlantedCorpus.shared
        let (exactU, exactS) = try planted.exact
        let whole = Self.chunk(planted.corpus.documents)
        func measures<S: LinearAlgebraScalar>(_ projection: LSIProjection<S>) -> (error: Double, similarity: Double, values: [Double]) {
            let values = projection.singularValues.map { Double($0) }
            let basis = projection.basis.transposed().converted(to: Double.self)
            return (worstRelativeError(exactS, values, k: 30), subspaceSimilarity(exactU, basis, k: 30), values)
        }
        for model in ["Float64", "Float32"] {
            let (steered, reference) = model == "Float64"
                ? try (measures(decomposition(Double.self, terms: planted.terms, sketch: 40, keep: 30, halves: true).process(whole, index: 0)),
                       measures(decomposition(Double.self, terms: planted.terms, sketch: 40, keep: 30, halves: false).process(whole, index: 0)))
                : try (measures(decomposition(Float.self, terms: planted.terms, sketch: 40, keep: 30, halves: true).process(whole, index: 0)),
                       measures(decomposition(Float.self, terms: planted.terms, sketch: 40, keep: 30, halves: false).process(whole, index: 0)))
            let spread = zip(steered.values, reference.values).map { abs($0 - $1) / $1 }.max() ?? 0
            // Measured: the worst σ error moves by 6e-5 of itself, the subspace similarity by
            // 1.5e-5, each singular value by at most 2.8e-5; another seed moves them by 1.4e-2,
            // 7e-3 and 7.6e-3 (bounds with a margin of 5).
            #expect(steered.error > 1e-4 && spread > 0)
            #expect(abs(steered.error - reference.error) <= 3e-4 * reference.error, "\(model)")
            #expect(abs(steered.similarity - reference.similarity) <= 1e-4, "\(model)")
            #expect(spread <= 1.5e-4, "\(model)")
        }
    }

    @Test("training in two halves with addDocuments matches training on the whole", arguments: LSIAlgorithm.allCases)
    func onlineUpdate(algorithm: LSIAlgorithm) async throws {
        let planted = PlantedCorpus.shared
        let (exactU, exactS) = try planted.exact
        let k = 10
        let documents = planted.corpus.documents
        let first = InMemoryCorpus(Array(documents[..<2500]), termCount: planted.terms)
        let second = InMemoryCorpus(Array(documents[2500...]), termCount: planted.terms)
        var model = try await LSIModel(corpus: first, termCount: planted.terms, topics: k, chunkSize: 1000,
                                       algorithm: algorithm, seed: 3)
        try await model.addDocuments(second)
        #expect(model.documentsProcessed == 5000)
        let tolerance = algorithm == .onePass ? 0.01 : 0.001
        #expect(worstRelativeError(exactS, model.singularValues, k: k) <= tolerance)
        #expect(subspaceSimilarity(exactU, model.leftSingularVectors, k: k) >= 0.99)
    }

    @Test("decay weighs each earlier chunk once per later chunk, as a sequence of merges")
    func decay() async throws {
        let (_, corpus) = DeerwesterExample.corpus()
        let decay = 0.5
        // Chunks of 3 documents: the first is weighed 0.25, the second 0.5, the last 1.
        var weighted = corpus.denseMatrix(terms: 12)
        for j in 0..<9 { for i in 0..<12 { weighted[i, j] *= Foundation.pow(decay, Double(2 - j / 3)) } }
        let exact = try weighted.svd().s
        let model = try await LSIModel(corpus: corpus, termCount: 12, topics: 200, chunkSize: 3, decay: decay)
        #expect(worstRelativeError(exact, model.singularValues, k: model.topicCount) <= 1e-10)
    }

    @Test("one thread and two give the same subspace; the same seed and threads give bit-identical models")
    func determinism() async throws {
        let planted = PlantedCorpus.shared
        func train(threads: Int) async throws -> LSIModel {
            try await LSIModel(corpus: planted.corpus, termCount: planted.terms, topics: 10, chunkSize: 700, seed: 11,
                               executor: InProcessExecutor(threads: threads))
        }
        let one = try await train(threads: 1)
        let two = try await train(threads: 2)
        let again = try await train(threads: 2)
        #expect(subspaceSimilarity(one.leftSingularVectors, two.leftSingularVectors, k: 10) >= 0.9999)
        #expect(worstRelativeError(one.singularValues, two.singularValues, k: 10) <= 1e-10)
        #expect(two.leftSingularVectors == again.leftSingularVectors && two.singularValues == again.singularValues)
        let otherSeed = try await LSIModel(corpus: planted.corpus, termCount: planted.terms, topics: 10, chunkSize: 700,
                                           seed: 12, executor: InProcessExecutor(threads: 2))
        #expect(otherSeed.leftSingularVectors != two.leftSingularVectors, "the seed reaches the random projections")
    }

    @Test("given the memory, one-pass reads the whole corpus as one chunk: when it fits, at decay 1, in this process")
    func oneChunk() async throws {
        let planted = PlantedCorpus.shared
        func train(chunkSize: Int, decay: Double = 1, memory: Int? = nil,
                   executor: any ChunkExecutor = InProcessExecutor(threads: 2)) async throws -> LSIModel {
            try await LSIModel(corpus: planted.corpus, termCount: planted.terms,
                               parameters: LSIParameters(topics: 10, chunkSize: chunkSize, decay: decay, seed: 5),
                               executor: executor, oneChunkMemory: memory)
        }
        func same(_ a: LSIModel, _ b: LSIModel) -> Bool {
            a.leftSingularVectors == b.leftSingularVectors && a.singularValues == b.singularValues
        }
        let whole = try await train(chunkSize: 5000)
        let chunked = try await train(chunkSize: 700)
        #expect(!same(whole, chunked))
        let entries = try #require(planted.corpus.nonZeroCount)
        let needed = LSIParameters(topics: 10).estimatedChunkMemory(documents: 5000, nonZeros: entries, terms: planted.terms)
        let fits = try await train(chunkSize: 700, memory: needed)
        #expect(same(fits, whole))
        #expect(fits.parameters.chunkSize == 700, "the model keeps its setting")
        #expect(same(try await train(chunkSize: 700, memory: needed - 1), chunked))
        // With decay the chunks set how documents fade; on a cluster, memory is the workers'.
        #expect(same(try await train(chunkSize: 700, decay: 0.9, memory: .max), try await train(chunkSize: 700, decay: 0.9)))
        #expect(same(try await train(chunkSize: 700, memory: .max, executor: UnlabelledExecutor()), chunked))
        // A Float32 model needs less; sizes beyond any machine's come out as .max, not as an overflow.
        #expect(LSIParameters(topics: 10, precision: .float32).estimatedChunkMemory(documents: 5000, nonZeros: entries,
                                                                                     terms: planted.terms) < needed)
        #expect(LSIParameters().estimatedChunkMemory(documents: .max / 2, nonZeros: .max / 2, terms: 1) == .max)
        #expect(LSIParameters().estimatedChunkMemory(documents: 1, nonZeros: .max / 48, terms: .max / 8_000) == .max)
    }

    @Test("projection is Uᵀx, or S⁻¹Uᵀx when scaled, for a document and a streamed corpus")
    func projection() async throws {
        let (vocabulary, corpus) = DeerwesterExample.corpus()
        let model = try await LSIModel(corpus: corpus, vocabulary: vocabulary, topics: 2, chunkSize: 9)
        let u = model.leftSingularVectors
        let dense = corpus.denseMatrix(terms: 12)
        let expected = Matrix.product(u, transposeA: true, dense)
        let projected = try model.projected(corpus).allDocuments()
        #expect(projected.count == 9)
        for (j, document) in corpus.documents.enumerated() {
            let vector = try model.project(document)
            let scaled = try model.project(document, scaled: true)
            for t in 0..<2 {
                #expect(abs(vector[t] - expected[t, j]) <= 1e-12)
                #expect(abs(scaled[t] - expected[t, j] / model.singularValues[t]) <= 1e-12)
                let streamed = zip(projected[j].termIDs, projected[j].weights).first { $0.0 == Int32(t) }?.1 ?? 0
                #expect(abs(streamed - expected[t, j]) <= 1e-12)
            }
        }
        #expect(throws: ModelError.self) { try model.project(try SparseDocument(entries: [(12, 1)])) }
    }

    @Test("a topic's leading terms are those of a sort of all terms by weight, ties by term id")
    func topicRanking() throws {
        // Weights from a few values, so that many agree to 6 decimals, in both signs.
        let terms = 500, topics = 3
        var generator = SeededGenerator(seed: 17)
        let levels: [Double] = [0.5, 0.25, 0.2500001, 0.1, 0.0999999, 0.01, 0]
        let basis = (0..<terms * topics).map { _ in
            (Bool.random(using: &generator) ? 1 : -1) * levels[Int.random(in: 0..<levels.count, using: &generator)]
        }
        let model = LSIModel(parameters: LSIParameters(topics: topics), termCount: terms, vocabulary: nil,
                             storage: .float64(LSIProjection(basis: Matrix(rows: topics, columns: terms, columnMajor: basis),
                                                             singularValues: [3, 2, 1], chunks: 1, documents: 1)))
        for topic in 0..<topics {
            let sorted = (0..<terms).map { term in (key: Int64((abs(basis[topic + term * topics]) * 1e6).rounded()), term: term) }
                .sorted { $0.key != $1.key ? $0.key > $1.key : $0.term < $1.term }
            for top in [0, 1, 7, 60, terms, terms + 5] {
                let ranked = try model.topic(topic, top: top)
                #expect(ranked.map(\.termID) == sorted.prefix(top).map(\.term), "topic \(topic), top \(top)")
                #expect(ranked.map(\.weight) == sorted.prefix(top).map { basis[topic + $0.term * topics] })
            }
        }
    }

    @Test("a document outside the vocabulary or with a NaN weight is an error naming the document")
    func badInput() async throws {
        let documents = [try SparseDocument(entries: [(0, 1), (1, 2)]), try SparseDocument(entries: [(0, 1), (5, 1)])]
        await #expect { try await LSIModel(corpus: InMemoryCorpus(documents), termCount: 3, topics: 2) } throws: {
            ($0 as? ModelError)?.message
                == "document #1 has term id 5, outside the model's 3 terms (ids 0 to 2): the corpus was made with another vocabulary"
        }
        let nan = [SparseDocument(uncheckedTermIDs: [0], weights: [.nan])]
        await #expect { try await LSIModel(corpus: InMemoryCorpus(nan), termCount: 3, topics: 2) } throws: {
            ($0 as? ModelError)?.message.hasPrefix("document #0: weight nan of term 0 is not a finite") == true
        }
        // A chunk of over a million entries is checked on every thread; the error still names
        // the first bad document: a weight beyond Float32's range, then a term outside the model.
        var many = (0..<11_000).map { d in
            SparseDocument(uncheckedTermIDs: (0..<100).map { Int32($0 * 30 + d % 30) }, weights: Array(repeating: 1, count: 100))
        }
        many[10_500] = SparseDocument(uncheckedTermIDs: [3, 7], weights: [1, 1e300])
        many[10_900] = SparseDocument(uncheckedTermIDs: [3, 3_000], weights: [1, 1])
        await #expect {
            try await LSIModel(corpus: InMemoryCorpus(many), termCount: 3_000, topics: 2, chunkSize: 11_000, precision: .float32)
        } throws: {
            ($0 as? ModelError)?.message == "document #10500: weight 1e+300 of term 7 is not a finite Float"
        }
        await #expect { try await LSIModel(corpus: InMemoryCorpus(many), termCount: 3_000, topics: 2, chunkSize: 11_000) } throws: {
            ($0 as? ModelError)?.message
                == "document #10900 has term id 3000, outside the model's 3000 terms (ids 0 to 2999): the corpus was made with another vocabulary"
        }
        await #expect { try await LSIModel(corpus: InMemoryCorpus(documents), termCount: 6, topics: 0) } throws: {
            ($0 as? ModelError)?.message == "topics: expected at least 1, got 0"
        }
        await #expect { try await LSIModel(corpus: InMemoryCorpus(documents), termCount: 6, decay: 1.5) } throws: {
            ($0 as? ModelError)?.message == "decay: expected a value in (0, 1], got 1.5"
        }
    }
}

extension InMemoryCorpus {
    func denseMatrix(terms: Int) -> Matrix<Double> {
        var dense = Matrix<Double>(rows: terms, columns: documents.count)
        for (j, document) in documents.enumerated() {
            for (term, weight) in zip(document.termIDs, document.weights) { dense[Int(term), j] = weight }
        }
        return dense
    }
}

/// Jobs in this process behind a session that does not say so, as a cluster's does not.
private struct UnlabelledExecutor: ChunkExecutor {
    var description: String { "in-process, unlabelled" }

    func session<Result: Sendable>(
        _ description: SessionDescription, _ body: (any TrainingSession) async throws -> Result
    ) async throws -> Result {
        try await InProcessExecutor(threads: 2).session(description) { try await body(Session(inner: $0)) }
    }

    struct Session: TrainingSession {
        let inner: any TrainingSession

        func pass<C: Corpus, Result: Sendable>(
            over corpus: C, chunkSize: Int, progress: (@Sendable (TrainingProgress) -> Void)?,
            _ body: (any TrainingPass) async throws -> Result
        ) async throws -> Result {
            try await inner.pass(over: corpus, chunkSize: chunkSize, progress: progress, body)
        }
    }
}
