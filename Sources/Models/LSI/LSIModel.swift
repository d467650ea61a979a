import Foundation
import LatentCorpus
import LatentLinearAlgebra
import Logging

/// Latent Semantic Indexing (gensim's `LsiModel`): a truncated SVD of the terms x documents
/// matrix of a corpus, computed in bounded memory from a stream of documents.
///
/// Training reads the corpus in chunks of `chunkSize` documents. With `.onePass` (the
/// default) each chunk is decomposed by a randomized SVD and the decompositions are merged;
/// with `.multiPass` the corpus is read 2 + `powerIterations` times for a randomized SVD of
/// the whole matrix, which is more accurate. Both run their chunk jobs through a
/// `ChunkExecutor`: by default on every core of this machine.
///
/// Memory: the model is terms x topics values; training adds about chunkSize x (topics +
/// oversampling) values per job thread, and for multi-pass one terms x (topics +
/// oversampling) sum. It never depends on the number of documents.
///
/// ```swift
/// let corpus = try MatrixMarketCorpus(path: "deerwester.mm")
/// let vocab = try Vocabulary(contentsOf: "deerwester.vocab")
/// let lsi = try await LSIModel(corpus: corpus, vocabulary: vocab, topics: 200, chunkSize: 1)
/// print(lsi.formattedTopic(0, top: 5))   // 0.644*"system" + 0.404*"user" + ...
/// ```
public struct LSIModel: Sendable {
    public let parameters: LSIParameters
    /// Every term id of a document must be below it: the vocabulary's id bound.
    public let termCount: Int
    /// Names the terms in topics; without it terms print as their ids.
    public var vocabulary: Vocabulary?
    /// Documents seen so far, by training and `addDocuments`.
    public var documentsProcessed: Int { storage.documents }

    var storage: Storage

    enum Storage: Sendable {
        case float64(LSIProjection<Double>)
        case float32(LSIProjection<Float>)

        var documents: Int {
            switch self {
            case .float64(let p): p.documents
            case .float32(let p): p.documents
            }
        }
        var chunks: Int {
            switch self {
            case .float64(let p): p.chunks
            case .float32(let p): p.chunks
            }
        }
        var rank: Int {
            switch self {
            case .float64(let p): p.rank
            case .float32(let p): p.rank
            }
        }
    }

    /// Trains a model on `corpus` with the given settings (gensim's `LsiModel(corpus, ...)`).
    ///
    /// - Parameters:
    ///   - vocabulary: names of the terms; its id bound is the model's term count.
    ///   - termCount: the term count when there is no vocabulary; otherwise the corpus's own.
    ///   - executor: where the chunk jobs run; by default every core of this machine.
    ///   - oneChunkMemory: see `addDocuments`.
    ///   - progress: called as jobs finish; when nil, progress goes to `logger` as gensim's
    ///     "processed documents up to #N" lines.
    public init<C: Corpus>(
        corpus: C, vocabulary: Vocabulary? = nil, termCount: Int? = nil, parameters: LSIParameters = LSIParameters(),
        executor: any ChunkExecutor = InProcessExecutor(), oneChunkMemory: Int? = nil, logger: Logger? = nil,
        progress: (@Sendable (TrainingProgress) -> Void)? = nil
    ) async throws {
        try parameters.validate()
        guard let terms = vocabulary?.idBound ?? termCount ?? corpus.termCount else {
            throw ModelError(code: .invalidParameter, message:
                "the number of terms is unknown: give a vocabulary or a term count")
        }
        if let vocabulary, let termCount, termCount != vocabulary.idBound {
            throw ModelError(code: .invalidParameter, message:
                "term count \(termCount) differs from the vocabulary's \(vocabulary.idBound) term ids")
        }
        self.parameters = parameters
        self.termCount = terms
        self.vocabulary = vocabulary
        switch parameters.precision {
        case .float64: storage = .float64(.empty(terms: terms))
        case .float32: storage = .float32(.empty(terms: terms))
        }
        logger?.info("using \(parameters.algorithm.rawValue) LSI (\(executor.description)) for \(parameters.topics) topics over \(terms) terms, chunks of \(parameters.chunkSize) documents")
        try await addDocuments(corpus, executor: executor, oneChunkMemory: oneChunkMemory, logger: logger, progress: progress)
        if let logger, let shortfall = topicShortfall { logger.warning("\(shortfall)") }
    }

    /// Why the model has fewer topics than asked, when it has: a corpus of lower rank keeps
    /// only its rank.
    public var topicShortfall: String? {
        let kept = topicCount, asked = parameters.topics
        guard kept < asked else { return nil }
        let reason = documentsProcessed == 0 ? "the corpus has no documents"
            : kept == 0 ? "the corpus has no non-zero weights"
            : termCount < asked && kept == termCount ? "there are only \(termCount) terms"
            : documentsProcessed < asked && kept == documentsProcessed ? "the corpus has only \(documentsProcessed) documents"
            : "the corpus has rank \(kept): further factors carry no energy"
        return "kept \(kept) of the \(asked) topics asked: \(reason)"
    }

    /// Trains with individual settings; see `LSIParameters` for each.
    public init<C: Corpus>(
        corpus: C, vocabulary: Vocabulary? = nil, termCount: Int? = nil,
        topics: Int = 200, chunkSize: Int = 100_000, decay: Double = 1.0, powerIterations: Int = 2,
        oversampling: Int = 100, algorithm: LSIAlgorithm = .onePass, precision: Precision = .float64,
        seed: UInt64 = 0, executor: any ChunkExecutor = InProcessExecutor(), logger: Logger? = nil,
        progress: (@Sendable (TrainingProgress) -> Void)? = nil
    ) async throws {
        let parameters = LSIParameters(topics: topics, chunkSize: chunkSize, decay: decay, powerIterations: powerIterations,
                                       oversampling: oversampling, algorithm: algorithm, precision: precision, seed: seed)
        try await self.init(corpus: corpus, vocabulary: vocabulary, termCount: termCount, parameters: parameters,
                            executor: executor, logger: logger, progress: progress)
    }

    init(parameters: LSIParameters, termCount: Int, vocabulary: Vocabulary?, storage: Storage) {
        self.parameters = parameters
        self.termCount = termCount
        self.vocabulary = vocabulary
        self.storage = storage
    }

    /// Folds more documents into the model (gensim's `add_documents`): an online update.
    /// The existing decomposition is weighed by `decay` (the model's, unless given) once
    /// per new chunk, so old documents fade when decay < 1. With `.multiPass` the new
    /// corpus is decomposed in several passes and merged once, as gensim does. Chunks are
    /// `chunkSize` documents (the model's, unless given: gensim's `chunksize` argument).
    ///
    /// With `oneChunkMemory` (bytes), one-pass training with decay 1 that runs in this process
    /// (`TrainingSession.runsInProcess`) reads the whole corpus as a single chunk when the
    /// corpus knows its size and `LSIParameters.estimatedChunkMemory` for it is at most that.
    /// One chunk is faster (no merges) and more accurate: merging chunks' truncated
    /// decompositions is where one-pass loses accuracy (BENCHMARKS.md, issue 18: on 200,000 x
    /// 500,000 TF-IDF values, a subspace similarity of 0.61 in one chunk against 0.49 in two).
    /// With decay below 1 the chunks set how old documents fade, so they stay as given. The
    /// model keeps its `chunkSize` setting either way; the log says which was used.
    public mutating func addDocuments<C: Corpus>(
        _ corpus: C, decay: Double? = nil, chunkSize: Int? = nil, executor: any ChunkExecutor = InProcessExecutor(),
        oneChunkMemory: Int? = nil, logger: Logger? = nil, progress: (@Sendable (TrainingProgress) -> Void)? = nil
    ) async throws {
        var settings = parameters
        settings.decay = decay ?? parameters.decay
        settings.chunkSize = chunkSize ?? parameters.chunkSize
        try settings.validate()
        let report = progress ?? logger.map { Self.logProgress(to: $0) }
        let started = Date()
        let model = self
        storage = try await executor.session(settings.sessionDescription(termCount: termCount)) { session in
            var settings = settings
            if let documents = model.oneChunk(corpus, settings: settings, memory: oneChunkMemory, session: session, logger: logger) {
                settings.chunkSize = documents
            }
            return switch model.storage {
            case .float64(let current):
                .float64(try await model.update(current, corpus, settings: settings, session: session, progress: report))
            case .float32(let current):
                .float32(try await model.update(current, corpus, settings: settings, session: session, progress: report))
            }
        }
        let seconds = Date().timeIntervalSince(started)
        logger?.info("LSI model now has \(topicCount) topics from \(documentsProcessed) documents (\(String(format: "%.2f", seconds)) s)")
    }

    /// The documents of `corpus`, when it is to be read as one chunk (see `addDocuments`).
    private func oneChunk<C: Corpus>(_ corpus: C, settings: LSIParameters, memory: Int?, session: any TrainingSession,
                                     logger: Logger?) -> Int? {
        guard let memory, settings.algorithm == .onePass, settings.decay == 1, session.runsInProcess,
              let documents = corpus.documentCount, documents > settings.chunkSize,
              let entries = corpus.nonZeroCount else { return nil }
        let needed = settings.estimatedChunkMemory(documents: documents, nonZeros: entries, terms: termCount)
        func gigabytes(_ bytes: Int) -> String { String(format: "%.1f GB", Double(bytes) / 1e9) }
        guard needed <= memory else {
            logger?.info("chunks of \(settings.chunkSize) documents: the corpus as one chunk would need about \(gigabytes(needed)), more than the \(gigabytes(memory)) allowed")
            return nil
        }
        logger?.info("the whole corpus as one chunk of \(documents) documents (about \(gigabytes(needed)) of the \(gigabytes(memory)) allowed): no merges, which is faster and more accurate")
        return documents
    }

    private func update<Scalar: LinearAlgebraScalar, C: Corpus>(
        _ current: LSIProjection<Scalar>, _ corpus: C, settings parameters: LSIParameters, session: any TrainingSession,
        progress: (@Sendable (TrainingProgress) -> Void)?
    ) async throws -> LSIProjection<Scalar> {
        let sketchSize = parameters.topics + parameters.oversampling
        let update: LSIProjection<Scalar>?
        switch parameters.algorithm {
        case .onePass:
            // A fresh model whose corpus is one chunk keeps only the topics asked: nothing
            // merges into its decomposition, whose spare factors would be cut right after
            // (at the cost of a third of the basis product for 100 spare of 300).
            let alone = current.rank == 0 && corpus.documentCount.map { $0 <= parameters.chunkSize } == true
            let job = OnePassDecomposition<Scalar>(
                termCount: termCount, sketchSize: sketchSize, keep: alone ? min(parameters.topics, sketchSize) : sketchSize,
                powerIterations: parameters.powerIterations, decay: parameters.decay, seed: parameters.seed,
                firstChunk: current.chunks)
            update = try await session.run(job, over: corpus, chunkSize: parameters.chunkSize, progress: progress)
        case .multiPass:
            update = try await multiPass(Scalar.self, corpus, settings: parameters, session: session, progress: progress)
        }
        guard let update else { return current }
        let merged = try current.merged(with: update, decay: parameters.decay, keep: sketchSize)
        return merged.canonical(topics: parameters.topics)
    }

    private func multiPass<Scalar: LinearAlgebraScalar, C: Corpus>(
        _: Scalar.Type, _ corpus: C, settings parameters: LSIParameters, session: any TrainingSession,
        progress: (@Sendable (TrainingProgress) -> Void)?
    ) async throws -> LSIProjection<Scalar>? {
        typealias Passes = MultiPassDecomposition
        let sketchSize = min(parameters.topics + parameters.oversampling, termCount)
        let passes = 2 + parameters.powerIterations
        func labelled(_ pass: Int) -> (@Sendable (TrainingProgress) -> Void)? {
            guard let progress else { return nil }
            return { var p = $0; p.pass = pass; p.passes = passes; progress(p) }
        }
        let sketch = Passes.SketchPass<Scalar>(termCount: termCount, sketchSize: sketchSize, seed: parameters.seed)
        guard let y = try await session.run(sketch, over: corpus, chunkSize: parameters.chunkSize, progress: labelled(1)),
              y.documents > 0 else { return nil }
        let documents = y.documents
        // Iterates between passes only need to be well conditioned: one Cholesky QR pass, in
        // Float32 when it succeeds there (κ up to about 3,000). The basis the last pass
        // projects onto must be orthonormal in full precision (as many passes as it takes).
        func orthonormalised(_ sum: Passes.TermSum<Scalar>, last: Bool) throws -> Matrix<Scalar> {
            let full = sum.full(termCount: termCount)
            if last { return try full.lq().q }
            if MemoryLayout<Scalar>.size > MemoryLayout<Float>.size,
               let reduced = full.converted(to: Float.self).choleskyRowSpaceBasis() {
                return reduced.converted(to: Scalar.self)
            }
            return try full.rowSpaceBasis()
        }
        // A power iteration only steers the basis towards the dominant subspace; every one but
        // the last runs its products in Float32, which halves their memory traffic. The last
        // iteration and the final pass are in full precision, so the subspace is found to
        // Float64 accuracy (an exactly low-rank corpus is still recovered exactly) and
        // rounding in the earlier iterations, about 1e-7, stays far below the randomized
        // SVD's own error.
        var basis = try orthonormalised(y, last: parameters.powerIterations == 0)
        for iteration in 0..<parameters.powerIterations {
            let last = iteration == parameters.powerIterations - 1
            let progress = labelled(2 + iteration)
            let y: Passes.TermSum<Scalar>
            if !last && MemoryLayout<Scalar>.size > MemoryLayout<Float>.size {
                let power = Passes.PowerPass<Float>(termCount: termCount, basis: basis.converted(to: Float.self))
                guard let reduced = try await session.run(power, over: corpus, chunkSize: parameters.chunkSize,
                                                           progress: progress) else { return nil }
                y = Passes.TermSum(terms: reduced.terms, values: reduced.values.converted(to: Scalar.self),
                                   documents: reduced.documents)
            } else {
                let power = Passes.PowerPass<Scalar>(termCount: termCount, basis: basis)
                guard let full = try await session.run(power, over: corpus, chunkSize: parameters.chunkSize,
                                                        progress: progress) else { return nil }
                y = full
            }
            basis = try orthonormalised(y, last: last)
        }
        let final = Passes.FinalPass<Scalar>(termCount: termCount, basis: basis)
        guard let factor = try await session.run(final, over: corpus, chunkSize: parameters.chunkSize,
                                                  progress: labelled(passes)) else { return nil }
        let (u, s) = try leftSingularPairs(of: factor.l)
        let kept = retainedRank(s, limit: sketchSize)
        let rotated = Matrix.product(u.leadingColumns(kept), transposeA: true, basis)
        return LSIProjection(basis: rotated, singularValues: Array(s.prefix(kept)), chunks: 1, documents: documents)
    }

    private static func logProgress(to logger: Logger) -> @Sendable (TrainingProgress) -> Void {
        { progress in
            let pass = progress.passes > 1 ? " (pass \(progress.pass) of \(progress.passes))" : ""
            logger.info("processed documents up to #\(progress.documentsDone)\(pass)")
        }
    }
}
