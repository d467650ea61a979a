import LatentLinearAlgebra

/// The settings of an LDA model. Names follow gensim 4.4's `LdaModel` arguments (given in
/// each comment) so that a gensim user can carry settings over. Every default is gensim's but
/// eta's and the gamma threshold's (see each); `LDAParameters.gensim` is gensim's throughout.
public struct LDAParameters: Sendable, Equatable {
    /// Topics: gensim's `num_topics` (100).
    public var topics: Int
    /// Documents per E-step batch: gensim's `chunksize` (2000). Lowered to the corpus's size
    /// when the corpus is smaller, as gensim does.
    public var chunkSize: Int
    /// Passes over the corpus: gensim's `passes` (1).
    public var passes: Int
    /// An M-step after every `updateEvery` batches: gensim's `update_every` (1); 0 means batch
    /// LDA, one M-step per pass.
    public var updateEvery: Int
    /// The document-topic prior: gensim's `alpha` (`symmetric`, 1/topics).
    public var alpha: DirichletPrior
    /// The topic-word prior: gensim's `eta`, whose default is `symmetric` (1/topics). Latent's
    /// default is 0.5 per term. Variational Bayes weighs a word seen n times in a topic by
    /// exp ψ(n + η), about n + η − 1/2, and a word the topic has not seen by exp ψ(η) (e^−100
    /// for η = 0.01): it discounts counts by about a half, so a variational η of about 1/2
    /// corresponds to a small prior in a Gibbs sampler (Asuncion, Welling, Smyth and Teh 2009,
    /// "On smoothing and inference for topic models"). Measured on a planted corpus and on the
    /// 200,000-document benchmark (BENCHMARKS.md), 0.5 recovers more of the planted topics
    /// and gives a better held-out bound (the documents' part) than 1/topics, in less time.
    /// With 2 topics the two are the same. On corpora with few words per topic it smooths
    /// the topics more; pass a smaller value, or `symmetric`, for sharper ones.
    public var eta: DirichletPrior
    /// κ, how fast old statistics are forgotten: gensim's `decay` (0.5), in (0.5, 1] for
    /// convergence (Hoffman et al. 2010).
    public var decay: Double
    /// τ₀, which slows the early updates: gensim's `offset` (1.0).
    public var offset: Double
    /// The most E-step iterations per document: gensim's `iterations` (50).
    public var iterations: Int
    /// A document's E-step stops when the mean change of its γ falls below this: gensim's
    /// `gamma_threshold`, whose default is 0.001. Latent's default is 0.01: a document stops
    /// when its topics' counts move by less than one word in all per iteration. Measured on
    /// the 200,000-document benchmark it trains in about 3/4 of the time for 0.04 nats per
    /// word of held-out bound, and recovers as many planted topics (BENCHMARKS.md).
    public var gammaThreshold: Double
    /// Topics below this probability are left out of a document's distribution: gensim's
    /// `minimum_probability` (0.01).
    public var minimumProbability: Double
    /// Log the held-out per-word bound every this many batches: gensim's `eval_every` (10);
    /// 0 never.
    public var evalEvery: Int
    /// Seeds the initial topics and every document's initial γ: gensim's `random_state`. The
    /// same seed and corpus give a bit-identical model, whatever the threads or workers.
    public var seed: UInt64
    /// Float32 (gensim's default `dtype`) or Float64, held end to end.
    public var precision: Precision

    public init(topics: Int = 100, chunkSize: Int = 2000, passes: Int = 1, updateEvery: Int = 1,
                alpha: DirichletPrior = .symmetric, eta: DirichletPrior = .value(0.5), decay: Double = 0.5,
                offset: Double = 1.0, iterations: Int = 50, gammaThreshold: Double = 0.01,
                minimumProbability: Double = 0.01, evalEvery: Int = 10, seed: UInt64 = 0,
                precision: Precision = .float32) {
        self.topics = topics
        self.chunkSize = chunkSize
        self.passes = passes
        self.updateEvery = updateEvery
        self.alpha = alpha
        self.eta = eta
        self.decay = decay
        self.offset = offset
        self.iterations = iterations
        self.gammaThreshold = gammaThreshold
        self.minimumProbability = minimumProbability
        self.evalEvery = evalEvery
        self.seed = seed
        self.precision = precision
    }

    /// gensim 4.4's `LdaModel` defaults, eta `symmetric` and the gamma threshold 0.001 included.
    public static var gensim: LDAParameters { LDAParameters(eta: .symmetric, gammaThreshold: 0.001) }

    /// Throws `ModelError.invalidParameter` naming the first setting out of range; the priors
    /// are checked against the shapes of a model of `termCount` terms.
    public func validate(termCount: Int) throws {
        func fail(_ message: String) -> ModelError { ModelError(code: .invalidParameter, message: message) }
        guard topics >= 1, topics <= 100_000 else { throw fail("topics: expected 1 to 100000, got \(topics)") }
        guard chunkSize >= 1 else { throw fail("chunk size: expected at least 1, got \(chunkSize)") }
        guard passes >= 1 else { throw fail("passes: expected at least 1, got \(passes)") }
        guard updateEvery >= 0 else { throw fail("update every: expected 0 (batch) or more, got \(updateEvery)") }
        guard decay.isFinite, decay > 0, decay <= 1 else { throw fail("decay: expected a value in (0, 1], got \(decay)") }
        // ρ = (τ₀ + pass + updates/chunk)^−κ is infinite at the first update when τ₀ = 0.
        guard offset.isFinite, offset > 0 else { throw fail("offset: expected a finite value above 0, got \(offset)") }
        guard iterations >= 1 else { throw fail("iterations: expected at least 1, got \(iterations)") }
        guard gammaThreshold.isFinite, gammaThreshold >= 0 else {
            throw fail("gamma threshold: expected a finite value of at least 0, got \(gammaThreshold)")
        }
        guard minimumProbability.isFinite, minimumProbability >= 0, minimumProbability <= 1 else {
            throw fail("minimum probability: expected a value in [0, 1], got \(minimumProbability)")
        }
        guard evalEvery >= 0 else { throw fail("eval every: expected 0 (never) or more, got \(evalEvery)") }
        _ = try alpha.values(name: "alpha", topics: topics, terms: nil)
        _ = try eta.values(name: "eta", topics: topics, terms: termCount)
    }
}

/// A Dirichlet prior as gensim takes it: a name, a number, a vector or (eta only) a
/// topics x terms matrix.
public enum DirichletPrior: Sendable, Equatable {
    /// 1/topics for every component.
    case symmetric
    /// 1/(i + √topics), normalised to sum 1 (alpha only).
    case asymmetric
    /// Starts symmetric and is learned from the data (gensim's Newton step after each batch
    /// for alpha, after each M-step for eta).
    case auto
    /// The same value for every component.
    case value(Double)
    /// One value per topic (alpha) or per term (eta).
    case vector([Double])
    /// One value per topic and term, topics x terms (eta only).
    case matrix(Matrix<Double>)

    /// The name gensim gives the prior, for logs and model files.
    public var name: String {
        switch self {
        case .symmetric: "symmetric"
        case .asymmetric: "asymmetric"
        case .auto: "auto"
        case .value(let v): "\(v)"
        case .vector: "vector"
        case .matrix: "matrix"
        }
    }

    public var isAuto: Bool { self == .auto }

    /// The initial values: `topics` values for alpha (`terms` nil); for eta, `terms` values,
    /// or topics x terms in row order for a matrix. Throws naming the prior when a value is
    /// not positive or a shape does not fit.
    public func values(name: String, topics: Int, terms: Int?) throws -> [Double] {
        func fail(_ message: String) -> ModelError { ModelError(code: .invalidParameter, message: "\(name): \(message)") }
        let count = terms ?? topics
        let values: [Double]
        switch self {
        case .symmetric, .auto:
            values = [Double](repeating: 1 / Double(topics), count: count)
        case .asymmetric:
            guard terms == nil else { throw fail("'asymmetric' is for alpha only, as in gensim") }
            let raw = (0..<topics).map { 1 / (Double($0) + Double(topics).squareRoot()) }
            let sum = raw.reduce(0, +)
            values = raw.map { $0 / sum }
        case .value(let v):
            values = [Double](repeating: v, count: count)
        case .vector(let v):
            guard v.count == count else {
                throw fail("expected \(count) values (one per \(terms == nil ? "topic" : "term")), got \(v.count)")
            }
            values = v
        case .matrix(let m):
            guard let terms else { throw fail("a matrix is for eta only") }
            guard m.rows == topics, m.columns == terms else {
                throw fail("expected a \(topics) x \(terms) matrix (topics x terms), got \(m.rows) x \(m.columns)")
            }
            values = m.transposed().storage
        }
        if let index = values.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            throw fail("expected positive finite values, got \(values[index]) at \(index)")
        }
        return values
    }
}
