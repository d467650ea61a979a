import Foundation
import LatentCorpus
import LatentLinearAlgebra
import Logging

/// Latent Dirichlet Allocation by online variational Bayes (Hoffman, Blei and Bach 2010),
/// exactly as gensim 4.4's `LdaModel` implements it, with the E-step on every core or on a
/// cluster's workers and runs reproducible for a seed whatever the threads or workers.
///
/// Training reads the corpus in batches of `chunkSize` documents (gensim's chunks). Each
/// batch's E-step is one reduction of the training engine, cut into jobs of a fixed size;
/// after every `updateEvery` batches the M-step blends the batch's statistics into the
/// topics with weight ρ = (offset + pass + updates / chunkSize)^−decay.
///
/// Memory: λ, E[ln β] and exp E[ln β], topics x terms each, plus one batch's statistics.
///
/// Where Latent differs from gensim on purpose:
/// - eta defaults to 0.5 per term, not 1/topics, and the gamma threshold to 0.01, not 0.001
///   (see `LDAParameters`);
/// - initial γ and topics come from Latent's own seeded generator (per document, so
///   threads and workers do not change them); `LDAReplay` takes another's draws;
/// - eta `auto`: gensim updates `model.eta` but keeps training with the η its state was
///   made with; here λ uses the learned η;
/// - the bound for a topics x terms η sums η per topic (gensim sums all of η);
/// - perplexity is e^−(per-word bound), in the base of the bound (gensim logs 2^−bound of a
///   natural-log bound, its issue #2623);
/// - alpha `auto` works on a cluster too (gensim refuses it in its distributed modes).
public struct LDAModel: Sendable {
    /// The `kind` of its model folders and cluster sessions.
    public static let kind = "lda"

    public var parameters: LDAParameters
    /// Every term id of a document must be below it.
    public let termCount: Int
    /// Names the terms in topics; without it terms print as their ids.
    public var vocabulary: Vocabulary?

    var storage: Storage

    enum Storage: Sendable {
        case float64(LDAState<Double>)
        case float32(LDAState<Float>)

        init?<Scalar: LinearAlgebraScalar>(_ state: LDAState<Scalar>) {
            if let state = state as? LDAState<Double> { self = .float64(state) }
            else if let state = state as? LDAState<Float> { self = .float32(state) }
            else { return nil }
        }
    }

    /// Trains a model on `corpus` (gensim's `LdaModel(corpus, ...)`).
    ///
    /// - Parameters:
    ///   - vocabulary: names of the terms; its id bound is the model's term count.
    ///   - termCount: the term count when there is no vocabulary.
    ///   - allowRealWeights: train on weights that are not counts (TF-IDF); refused otherwise.
    ///   - replay: another implementation's random draws (initial topics and γ), to
    ///     reproduce its run exactly; nil draws Latent's own from `parameters.seed`.
    ///   - executor: where the E-step jobs run; by default every core of this machine.
    /// - Throws: `ModelError` for parameters out of range or input that is not counts.
    public init<C: Corpus>(
        corpus: C, vocabulary: Vocabulary? = nil, termCount: Int? = nil, parameters: LDAParameters = LDAParameters(),
        allowRealWeights: Bool = false, replay: LDAReplay? = nil, executor: any ChunkExecutor = InProcessExecutor(),
        logger: Logger? = nil, progress: (@Sendable (LDAProgress) -> Void)? = nil,
        onUpdate: (@Sendable (LDAModel) -> Void)? = nil
    ) async throws {
        guard let terms = vocabulary?.idBound ?? termCount ?? corpus.termCount else {
            throw ModelError(code: .invalidParameter, message: "the number of terms is unknown: give a vocabulary or a term count")
        }
        try self.init(untrained: parameters, termCount: terms, vocabulary: vocabulary, replay: replay)
        logger?.info("using \(executor.description) LDA for \(parameters.topics) topics over \(terms) terms, \(parameters.precision.rawValue)")
        try await addDocuments(corpus, allowRealWeights: allowRealWeights, replay: replay, executor: executor,
                               logger: logger, progress: progress, onUpdate: onUpdate)
    }

    /// A model before training: initial topics drawn (or replayed), priors set.
    public init(untrained parameters: LDAParameters, termCount: Int, vocabulary: Vocabulary? = nil,
                replay: LDAReplay? = nil) throws {
        guard termCount >= 1 else {
            throw ModelError(code: .invalidParameter, message: "cannot compute LDA over an empty collection (no terms)")
        }
        if let vocabulary, vocabulary.idBound > termCount {
            throw ModelError(code: .invalidParameter, message: "the vocabulary's term ids reach \(vocabulary.idBound - 1); the model has \(termCount) terms")
        }
        try parameters.validate(termCount: termCount)
        if let replay, replay.topics.rows != parameters.topics || replay.topics.columns != termCount {
            throw ModelError(code: .invalidParameter, message:
                "replayed topics: expected \(parameters.topics) x \(termCount), got \(replay.topics.rows) x \(replay.topics.columns)")
        }
        let alpha = try parameters.alpha.values(name: "alpha", topics: parameters.topics, terms: nil)
        let eta = try parameters.eta.values(name: "eta", topics: parameters.topics, terms: termCount)
        let perTopic = eta.count != termCount
        self.parameters = parameters
        self.termCount = termCount
        self.vocabulary = vocabulary
        switch parameters.precision {
        case .float64:
            storage = .float64(LDAState(topics: parameters.topics, termCount: termCount, alpha: alpha, eta: eta,
                                        etaPerTopic: perTopic, seed: parameters.seed, initialStatistics: replay?.topics))
        case .float32:
            storage = .float32(LDAState(topics: parameters.topics, termCount: termCount, alpha: alpha, eta: eta,
                                        etaPerTopic: perTopic, seed: parameters.seed, initialStatistics: replay?.topics))
        }
    }

    init(parameters: LDAParameters, termCount: Int, vocabulary: Vocabulary?, storage: Storage) {
        self.parameters = parameters
        self.termCount = termCount
        self.vocabulary = vocabulary
        self.storage = storage
    }

    public var topicCount: Int { parameters.topics }

    /// Documents trained on so far (gensim's `state.numdocs`).
    public var documentsProcessed: Int {
        switch storage {
        case .float64(let s): s.documents
        case .float32(let s): s.documents
        }
    }

    /// Documents folded in by first-pass M-steps (gensim's `num_updates`).
    public var updatesDone: Int {
        switch storage {
        case .float64(let s): s.updates
        case .float32(let s): s.updates
        }
    }

    /// The document-topic prior α, one value per topic.
    public var alpha: [Double] {
        switch storage {
        case .float64(let s): s.alpha
        case .float32(let s): s.alpha.map(Double.init)
        }
    }

    /// The topic-word prior η: one value per term, or topics x terms in row order.
    public var eta: [Double] {
        switch storage {
        case .float64(let s): Self.rowOrder(s.eta, perTopic: s.etaPerTopic, topics: s.topics, terms: termCount)
        case .float32(let s): Self.rowOrder(s.eta.map(Double.init), perTopic: s.etaPerTopic, topics: s.topics, terms: termCount)
        }
    }

    /// True when η has a value per topic and term.
    public var etaPerTopic: Bool {
        switch storage {
        case .float64(let s): s.etaPerTopic
        case .float32(let s): s.etaPerTopic
        }
    }

    /// λ, the variational parameters of the topics: topics x terms.
    public var lambda: Matrix<Double> {
        switch storage {
        case .float64(let s): s.lambda
        case .float32(let s): s.lambda.converted(to: Double.self)
        }
    }

    private static func rowOrder(_ values: [Double], perTopic: Bool, topics: Int, terms: Int) -> [Double] {
        perTopic ? Matrix(rows: topics, columns: terms, columnMajor: values).transposed().storage : values
    }

    /// Trains the model further on `corpus` (gensim's `update`): `passes` passes (the
    /// model's, unless given), continuing its count of updates. `onUpdate` sees the model
    /// after each M-step (as gensim's callbacks see it after each pass).
    public mutating func addDocuments<C: Corpus>(
        _ corpus: C, passes: Int? = nil, allowRealWeights: Bool = false, replay: LDAReplay? = nil,
        executor: any ChunkExecutor = InProcessExecutor(), logger: Logger? = nil,
        progress: (@Sendable (LDAProgress) -> Void)? = nil, onUpdate: (@Sendable (LDAModel) -> Void)? = nil
    ) async throws {
        var settings = parameters
        settings.passes = passes ?? parameters.passes
        try settings.validate(termCount: termCount)
        let documents: Int
        if let count = corpus.documentCount {
            documents = count
        } else {
            logger?.warning("input corpus stream has no length; counting documents")
            var count = 0
            try corpus.forEachDocument { _ in count += 1 }
            documents = count
        }
        guard documents > 0 else {
            logger?.warning("LDA update called with an empty corpus: the model is unchanged")
            return
        }
        let (parameters, termCount, vocabulary) = (self.parameters, self.termCount, self.vocabulary)
        let observer = onUpdate.map { onUpdate in
            { @Sendable (storage: Storage) in
                onUpdate(LDAModel(parameters: parameters, termCount: termCount, vocabulary: vocabulary, storage: storage))
            }
        }
        let trainer = LDATrainer(settings: settings, termCount: termCount, documents: documents,
                                 allowRealWeights: allowRealWeights, replay: replay, logger: logger, progress: progress,
                                 onUpdate: observer)
        let started = Date()
        let description = SessionDescription(kind: Self.kind, summary: trainer.summary)
        switch storage {
        case .float64(let state):
            storage = .float64(try await executor.session(description) { try await trainer.train(state, corpus, session: $0) })
        case .float32(let state):
            storage = .float32(try await executor.session(description) { try await trainer.train(state, corpus, session: $0) })
        }
        logger?.info("LDA model trained on \(documentsProcessed) documents in all (\(String(format: "%.2f", Date().timeIntervalSince(started))) s)")
    }
}

/// Another implementation's random draws, to reproduce its training exactly: the initial
/// sstats (gensim's `state.sstats` after `__init__`, topics x terms) and the initial γ of
/// every document E-step in order (topics x draws, a column per document and pass).
public struct LDAReplay: Sendable, Equatable {
    public var topics: Matrix<Double>
    public var gammas: Matrix<Double>

    public init(topics: Matrix<Double>, gammas: Matrix<Double>) {
        self.topics = topics
        self.gammas = gammas
    }
}

/// How far LDA training has come.
public struct LDAProgress: Sendable, Equatable {
    /// Documents of this pass whose E-step is done.
    public var documentsDone: Int
    public var documentsTotal: Int
    /// 1-based.
    public var pass: Int
    public var passes: Int
    /// The last held-out per-word bound logged, if any.
    public var perWordBound: Double?
}
