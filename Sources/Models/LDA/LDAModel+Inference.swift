import Foundation
import LatentCorpus
import LatentLinearAlgebra

/// The variational bound of a corpus under an LDA model, in nats (gensim's `bound` and
/// `log_perplexity`).
public struct LDABound: Sendable, Equatable {
    /// Σ over documents of their part of the bound (before the subsample ratio).
    public var documentPart: Double
    /// The topics' part: it does not depend on the documents.
    public var topicPart: Double
    /// Documents and words (sum of counts) evaluated.
    public var documents: Int
    public var words: Double
    /// How many documents each stands for (gensim's `subsample_ratio`: total / evaluated).
    public var subsampleRatio: Double

    /// gensim's `bound(corpus, subsample_ratio=...)`: documentPart x ratio + topicPart.
    public var total: Double { documentPart * subsampleRatio + topicPart }
    /// gensim's `log_perplexity`: total / (ratio x words).
    public var perWordBound: Double { total / (subsampleRatio * words) }
    /// The documents' part per word: comparable between models and held-out sets of any size.
    public var documentPerWordBound: Double { documentPart / words }
    /// e^−(per-word bound), in the bound's own base (gensim logs 2^−bound).
    public var perplexity: Double { Foundation.exp(-perWordBound) }
}

extension LDAModel {
    /// The bound of `corpus` (gensim's `bound`, with each document's γ inferred afresh).
    /// `totalDocuments` sets the subsample ratio as gensim's `log_perplexity(chunk,
    /// total_docs)` does; by default the corpus stands for itself. `initialGammas` replays
    /// another implementation's draws (topics x documents); otherwise each document draws
    /// its own from the model's seed by its number.
    public func bound<C: Corpus>(_ corpus: C, totalDocuments: Int? = nil, initialGammas: Matrix<Double>? = nil) throws -> LDABound {
        switch storage {
        case .float64(let s): return try Self.bound(s, corpus, totalDocuments: totalDocuments, initialGammas: initialGammas,
                                                    seed: parameters.seed, iterations: parameters.iterations,
                                                    threshold: parameters.gammaThreshold)
        case .float32(let s): return try Self.bound(s, corpus, totalDocuments: totalDocuments, initialGammas: initialGammas,
                                                    seed: parameters.seed, iterations: parameters.iterations,
                                                    threshold: parameters.gammaThreshold)
        }
    }

    private static func bound<Scalar: LinearAlgebraScalar, C: Corpus>(
        _ state: LDAState<Scalar>, _ corpus: C, totalDocuments: Int?, initialGammas: Matrix<Double>?, seed: UInt64,
        iterations: Int, threshold: Double
    ) throws -> LDABound {
        var result = LDABound(documentPart: 0, topicPart: state.topicBound(), documents: 0, words: 0, subsampleRatio: 1)
        let initial = Self.initial(initialGammas, Scalar.self, seed: seed)
        let model = EStepModel(expElogbeta: state.expElogbeta, alpha: state.alpha, iterations: iterations,
                               gammaThreshold: Scalar(threshold))
        try corpus.forEachChunk(size: 4096) { chunk in
            let block = try infer(chunk, model: model, initial: initial, elogbeta: state.elogbeta, termCount: state.termCount)
            for value in block.bounds { result.documentPart += value }
            result.documents += chunk.documentCount
            for weight in chunk.weights { result.words += weight }
        }
        if let totalDocuments, result.documents > 0 { result.subsampleRatio = Double(totalDocuments) / Double(result.documents) }
        return result
    }

    static func initial<Scalar: LinearAlgebraScalar>(_ given: Matrix<Double>?, _: Scalar.Type, seed: UInt64) -> InitialGammas<Scalar> {
        if let given { return .replayed(given.converted(to: Scalar.self), firstDocument: 0) }
        // Inference draws from a stream of its own, by document number.
        return .seeded(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B, firstDraw: 0)
    }

    /// The E-step of every document of `chunk` on every core: γ per document (topics x
    /// documents) and, when `elogbeta` is given, each document's part of the bound. Each
    /// document's result depends on it alone, so threads do not change them.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    static func infer<Scalar: LinearAlgebraScalar>(
        _ chunk: SparseChunk, model: EStepModel<Scalar>, initial: InitialGammas<Scalar>, elogbeta: Matrix<Scalar>?,
        termCount: Int
    ) throws -> (gammas: Matrix<Scalar>, bounds: [Double]) {
        try LDAInput.check(chunk, termCount: termCount, allowRealWeights: true)
        let k = model.topics, n = chunk.documentCount
        var gammas = Matrix<Scalar>(rows: k, columns: n)
        var bounds = [Double](repeating: 0, count: n)
        let workers = max(1, min(BLAS.threads, n / 16))
        var failures = [(any Error)?](repeating: nil, count: workers)
        gammas.storage.withUnsafeMutableBufferPointer { gammaBuffer in
        bounds.withUnsafeMutableBufferPointer { boundBuffer in
        failures.withUnsafeMutableBufferPointer { failureBuffer in
            let gammaOut = gammaBuffer.baseAddress!, boundOut = boundBuffer.baseAddress!, failureOut = failureBuffer.baseAddress!
            concurrently(workers: workers) { worker in
                var inference = DocumentInference<Scalar>(topics: k)
                for d in (n * worker / workers)..<(n * (worker + 1) / workers) {
                    let range = chunk.columnStarts[d]..<chunk.columnStarts[d + 1]
                    let ids = chunk.termIDs[range], counts = chunk.weights[range]
                    do {
                        try inference.start(initial, document: chunk.firstDocument + d)
                    } catch {
                        failureOut[worker] = error
                        return
                    }
                    _ = inference.run(termIDs: ids, counts: counts, model: model)
                    for i in 0..<k { gammaOut[i + d * k] = inference.gamma[i] }
                    if let elogbeta {
                        boundOut[d] = inference.documentBound(termIDs: ids, counts: counts, elogbeta: elogbeta, alpha: model.alpha)
                    }
                }
            }
        }}}
        if let failure = failures.compactMap({ $0 }).first { throw failure }
        return (gammas, bounds)
    }

    /// The topic distribution of one document (gensim's `get_document_topics`): γ
    /// normalised, topics below `minimumProbability` (the model's, at least 1e-8) left out.
    public func documentTopics(_ document: SparseDocument, minimumProbability: Double? = nil) throws -> [(topic: Int, probability: Double)] {
        var chunk = SparseChunk(reservingDocuments: 1)
        chunk.append(document)
        let distributions = try topicDistributions(chunk)
        let floor = max(minimumProbability ?? parameters.minimumProbability, 1e-8)
        return (0..<topicCount).compactMap { k in
            let p = distributions[k, 0]
            return p >= floor ? (k, p) : nil
        }
    }

    /// Normalised γ of each document of `chunk`: topics x documents.
    func topicDistributions(_ chunk: SparseChunk) throws -> Matrix<Double> {
        var gammas: Matrix<Double>
        switch storage {
        case .float64(let s):
            gammas = try Self.infer(chunk, model: s.eStepModel(parameters), initial: Self.initial(nil, Double.self, seed: parameters.seed),
                                    elogbeta: nil, termCount: termCount).gammas
        case .float32(let s):
            gammas = try Self.infer(chunk, model: s.eStepModel(parameters), initial: Self.initial(nil, Float.self, seed: parameters.seed),
                                    elogbeta: nil, termCount: termCount).gammas.converted(to: Double.self)
        }
        let k = gammas.rows
        for d in 0..<gammas.columns {
            var sum = 0.0
            for i in 0..<k { sum += gammas.storage[i + d * k] }
            for i in 0..<k { gammas.storage[i + d * k] /= sum }
        }
        return gammas
    }

    /// `corpus` seen through the model: document i is the topic distribution of document i
    /// (gensim's `lda[corpus]`), topics below the minimum probability left out. Documents
    /// draw their initial γ by their number, so the result is reproducible.
    public func documentTopics<C: Corpus>(_ corpus: C, minimumProbability: Double? = nil) -> LDATopicCorpus<C> {
        LDATopicCorpus(model: self, base: corpus, minimumProbability: max(minimumProbability ?? parameters.minimumProbability, 1e-8))
    }
}

extension LDAState {
    func eStepModel(_ parameters: LDAParameters) -> EStepModel<Scalar> {
        EStepModel(expElogbeta: expElogbeta, alpha: alpha, iterations: parameters.iterations,
                   gammaThreshold: Scalar(parameters.gammaThreshold))
    }
}

/// A corpus seen through an LDA model: document i is the topic distribution of document i
/// of the base corpus. Reads the base in blocks and infers each block on every core.
public struct LDATopicCorpus<Base: Corpus>: Corpus {
    public let model: LDAModel
    public let base: Base
    public let minimumProbability: Double

    static var blockSize: Int { 4096 }

    public var documentCount: Int? { base.documentCount }
    public var termCount: Int? { model.topicCount }
    public var nonZeroCount: Int? { nil }

    public func makeReader() throws -> BlockTransformReader<Base> {
        let (model, minimum) = (self.model, minimumProbability)
        return BlockTransformReader(base: try base.makeReader(), blockSize: Self.blockSize,
                                    transform: { try model.topicDistributions($0) }, keep: { $0 >= minimum })
    }
}
