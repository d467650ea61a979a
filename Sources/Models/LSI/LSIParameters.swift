/// The settings of an LSI model. Names follow gensim's `LsiModel` arguments (given in each
/// comment) so that a gensim user can carry settings over; defaults are gensim's.
public struct LSIParameters: Sendable, Equatable, Codable {
    /// The rank of the decomposition kept: gensim's `num_topics` (200). A corpus of lower
    /// rank keeps only its rank (factors carrying no energy are dropped).
    public var topics: Int
    /// Documents per job: gensim's `chunksize`, whose default is 20,000. Latent's default is
    /// 100,000: a one-pass model merges one decomposition per chunk, and merges are where its
    /// time and its error go, so fewer, larger chunks are both faster and more accurate.
    /// Memory per job is about 4 x chunkSize x (topics + oversampling) values (1.6 GB for
    /// 400 topics in Float64); lower it on small machines.
    public var chunkSize: Int
    /// How much the existing decomposition weighs when new documents are merged in:
    /// gensim's `decay` (1.0, no forgetting). Applied once per chunk merged after it.
    public var decay: Double
    /// Power iterations of each randomized SVD: gensim's `power_iters` (2).
    public var powerIterations: Int
    /// Extra columns sampled beyond `topics`: gensim's `extra_samples` (100).
    public var oversampling: Int
    /// One pass over the corpus (default) or several: gensim's `onepass` (True).
    public var algorithm: LSIAlgorithm
    /// Float64 (default) or Float32, held end to end: gensim's `dtype` (float64).
    public var precision: Precision
    /// Seeds every random projection: gensim's `random_seed`. The same seed, corpus and
    /// thread count give a bit-identical model.
    public var seed: UInt64

    public init(topics: Int = 200, chunkSize: Int = 100_000, decay: Double = 1.0, powerIterations: Int = 2,
                oversampling: Int = 100, algorithm: LSIAlgorithm = .onePass, precision: Precision = .float64,
                seed: UInt64 = 0) {
        self.topics = topics
        self.chunkSize = chunkSize
        self.decay = decay
        self.powerIterations = powerIterations
        self.oversampling = oversampling
        self.algorithm = algorithm
        self.precision = precision
        self.seed = seed
    }

    /// Throws `ModelError.invalidParameter` naming the first setting out of range.
    public func validate() throws {
        func fail(_ message: String) -> ModelError { ModelError(code: .invalidParameter, message: message) }
        guard topics >= 1 else { throw fail("topics: expected at least 1, got \(topics)") }
        guard chunkSize >= 1 else { throw fail("chunk size: expected at least 1, got \(chunkSize)") }
        guard decay.isFinite, decay > 0, decay <= 1 else { throw fail("decay: expected a value in (0, 1], got \(decay)") }
        guard powerIterations >= 0, powerIterations <= 100 else {
            throw fail("power iterations: expected 0 to 100, got \(powerIterations)")
        }
        guard oversampling >= 0 else { throw fail("oversampling: expected at least 0, got \(oversampling)") }
        guard topics <= 100_000, topics + oversampling <= 200_000 else {
            throw fail("topics + oversampling: \(topics + oversampling) is beyond what a dense decomposition can hold")
        }
    }
}

extension LSIParameters {
    /// The bytes a one-pass job holds at its peak for one chunk of `documents` documents with
    /// `nonZeros` entries over `terms` terms, with a margin: per entry, the chunk in its two
    /// orientations (and, for a Float64 model, in Float32 for the power iterations); per
    /// value of topics + oversampling rows, the blocks as long as the documents (iterates,
    /// B = QᵀA) and as the terms (the sketch, its factorisation, the basis). Fitted to the
    /// peaks of single chunks measured on 2026-12-03 (40,000 to 1,000,000 documents, 300 to
    /// 1,100 rows: 0.5 to 7.8 GB), which it exceeds by 7% to 58%.
    public func estimatedChunkMemory(documents: Int, nonZeros: Int, terms: Int) -> Int {
        let rows = topics + oversampling
        let perEntry = 24
        let perValue = precision == .float64 ? 16 : 8
        let (entries, overflowE) = nonZeros.multipliedReportingOverflow(by: perEntry)
        let (length, overflowL) = documents.addingReportingOverflow(terms)
        let (sides, overflowS) = length.multipliedReportingOverflow(by: rows * perValue)
        let (total, overflowT) = entries.addingReportingOverflow(sides)
        guard !overflowE, !overflowL, !overflowS, !overflowT, total <= .max - 64 << 20 else { return .max }
        return 64 << 20 + total
    }

    /// The session an LSI training or update opens: kind "lsi", every parameter for the logs
    /// and in the portable encoding.
    func sessionDescription(termCount: Int) -> SessionDescription {
        var writer = PortableWriter()
        for value in [topics, chunkSize, powerIterations, oversampling, termCount] { writer.write(value) }
        writer.write(decay)
        writer.write(seed)
        writer.write(algorithm == .onePass ? 0 : 1)
        writer.write(precision == .float64 ? 0 : 1)
        let summary = "LSI \(algorithm.rawValue), \(topics) topics over \(termCount) terms, \(precision.rawValue), "
            + "seed \(seed), decay \(decay), oversampling \(oversampling), \(powerIterations) power iterations, "
            + "chunks of \(chunkSize) documents"
        return SessionDescription(kind: LSIModel.kind, summary: summary, parameters: writer.bytes)
    }
}

/// How the decomposition is computed.
public enum LSIAlgorithm: String, Sendable, Equatable, Codable, CaseIterable {
    /// One pass: each chunk is decomposed by a randomized SVD and the decompositions are
    /// merged (Brand 2006). Works on a stream that can be read only once.
    case onePass = "one-pass"
    /// 2 + q passes over a re-readable corpus: a randomized SVD of the whole matrix
    /// (Halko, Martinsson, Tropp 2011). More accurate; every pass is a sum over chunks.
    case multiPass = "multi-pass"
}

/// The floating-point type a model computes and stores in.
public enum Precision: String, Sendable, Equatable, Codable, CaseIterable {
    case float64
    case float32
}
