import LatentLinearAlgebra

/// The partial state of LDA's E-step over some documents: what gensim's sufficient statistics
/// (`sstats`, topics x terms) are summed from, and what the model needs besides: the number
/// of documents, the sum of their E[ln θ] (for alpha `auto`), and when asked, the document
/// part of the variational bound and the words it covers.
///
/// gensim adds each document's outer product exp E[ln θ_d] (count_w / phinorm_w) into the
/// columns of its terms, in document order. Latent keeps those factors per document (its term
/// ids, count_w / phinorm_w, exp E[ln θ_d]: a few hundred values where the sums would take
/// topics x terms) and adds them up once per batch, in the M-step (`summed`), in document
/// order as gensim does, on every core by ranges of terms. A merge is the concatenation of
/// two runs of documents, so the engine's fixed merge tree makes a batch's statistics the
/// same whatever the threads and workers, and what travels from a worker is small. When the
/// factors of a run outgrow the sums themselves (many batches between M-steps), a merge adds
/// them up into `sums`; that depends on sizes only, so it is deterministic too.
public struct LDAStatistics<Scalar: LinearAlgebraScalar>: Sendable, Equatable {
    public let topics: Int
    /// Documents in order: document d's term ids are `termIDs[termStarts[d]..<termStarts[d + 1]]`,
    /// with count_w / phinorm_w in `weights` at the same positions, and exp E[ln θ_d] in
    /// `thetas[d * topics..<(d + 1) * topics]`. Empty when `sums` holds the statistics.
    public var termIDs: [Int32]
    public var termStarts: [Int]
    public var weights: [Scalar]
    public var thetas: [Scalar]
    /// The statistics summed, topics x the model's terms, once the factors outgrew them.
    public var sums: Matrix<Scalar>?
    public var documents: Int
    /// Documents whose γ converged before the iteration limit.
    public var converged: Int
    /// Σ over the documents of E[ln θ_d], one value per topic.
    public var logThetaSum: [Double]
    /// Σ over the documents of the document part of the bound (zero unless evaluated).
    public var documentBound: Double
    /// The words (sum of counts) of the documents.
    public var words: Double

    /// No documents yet.
    public init(topics: Int) {
        self.topics = topics
        termIDs = []
        termStarts = [0]
        weights = []
        thetas = []
        documents = 0
        converged = 0
        logThetaSum = [Double](repeating: 0, count: topics)
        documentBound = 0
        words = 0
    }

    /// Appends a document's factors (the bookkeeping fields are the caller's).
    mutating func append(termIDs ids: ArraySlice<Int32>, weights documentWeights: UnsafeBufferPointer<Scalar>,
                         theta: UnsafeBufferPointer<Scalar>) {
        termIDs.append(contentsOf: ids)
        weights.append(contentsOf: documentWeights)
        termStarts.append(termIDs.count)
        thetas.append(contentsOf: theta)
    }

    /// The number of values the factors take.
    var factorSize: Int { termIDs.count * 2 + thetas.count }

    /// The sufficient statistics: topics x the terms used (ascending in `terms`), or x every
    /// term when `terms` is nil; each entry the sum over the documents, in order.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func summed(termCount: Int) -> (terms: [Int32]?, values: Matrix<Scalar>) {
        if let sums { return (nil, sums) }
        let (terms, targets) = LocalTerms.numbered(termIDs, termCount: termCount)
        var values = Matrix<Scalar>(rows: topics, columns: terms.count)
        scatter(into: &values, targets: targets)
        return (terms, values)
    }

    /// The statistics as a dense topics x `termCount` matrix.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func dense(termCount: Int) -> Matrix<Scalar> {
        if let sums { return sums }
        var full = Matrix<Scalar>(rows: topics, columns: termCount)
        scatter(into: &full, targets: termIDs)
        return full
    }

    /// Adds each document's outer product into the columns `targets` (one per term entry) of
    /// `matrix`: column by column, each adding its documents' exp E[ln θ] in document order
    /// (so each column stays in cache while it sums), on every core by ranges of columns.
    /// Every entry sums in document order, whatever the number of threads.
    private func scatter(into matrix: inout Matrix<Scalar>, targets: [Int32]) {
        let k = topics, documents = termStarts.count - 1, columns = matrix.columns
        guard k > 0, documents > 0, !targets.isEmpty else { return }
        // The entries of each column in document order, with their documents and weights: the
        // factors as a terms x documents sparse matrix, transposed.
        let byTerm = SparseColumns(rows: columns, columns: documents, columnStarts: termStarts, rowIndices: targets,
                                   values: weights).transposed()
        let starts = byTerm.columnStarts
        let workers = max(1, min(BLAS.threads, targets.count / 4096 + 1))
        matrix.storage.withUnsafeMutableBufferPointer { target in
        byTerm.rowIndices.withUnsafeBufferPointer { sources in
        byTerm.values.withUnsafeBufferPointer { entryWeights in
        thetas.withUnsafeBufferPointer { thetas in
            let to = target.baseAddress!, from = sources.baseAddress!, w = entryWeights.baseAddress!
            let theta = thetas.baseAddress!
            concurrently(workers: workers) { worker in
                for column in (columns * worker / workers)..<(columns * (worker + 1) / workers) {
                    let first = starts[column], n = starts[column + 1] - first
                    guard n > 0 else { continue }
                    Scalar.gatherOuter(k: k, n: n, sources: from + first, vectors: theta, weights: w + first,
                                       out: to + column * k)
                }
            }
        }}}}
    }

    /// The statistics of `earlier` and `later` together: the two runs of documents one after
    /// the other, or summed when their factors would outgrow the sums (topics x `termCount`).
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    static func merged(_ earlier: LDAStatistics, _ later: LDAStatistics, termCount: Int) -> LDAStatistics {
        var result = LDAStatistics(topics: earlier.topics)
        result.documents = earlier.documents + later.documents
        result.converged = earlier.converged + later.converged
        result.logThetaSum = zip(earlier.logThetaSum, later.logThetaSum).map { $0 + $1 }
        result.documentBound = earlier.documentBound + later.documentBound
        result.words = earlier.words + later.words
        if earlier.sums == nil, later.sums == nil, earlier.factorSize + later.factorSize <= earlier.topics * termCount {
            result.termIDs = earlier.termIDs + later.termIDs
            let offset = earlier.termIDs.count
            result.termStarts = earlier.termStarts + later.termStarts.dropFirst().map { $0 + offset }
            result.weights = earlier.weights + later.weights
            result.thetas = earlier.thetas + later.thetas
            return result
        }
        var sums = earlier.dense(termCount: termCount)
        if let laterSums = later.sums {
            sums.storage.withUnsafeMutableBufferPointer { target in
                for index in target.indices { target[index] += laterSums.storage[index] }
            }
        } else {
            later.scatter(into: &sums, targets: later.termIDs)
        }
        result.sums = sums
        return result
    }
}
