import LatentLinearAlgebra

/// The partial state of LDA's E-step over some documents: gensim's sufficient statistics
/// (`sstats`, topics x terms, before their multiplication by exp E[ln β], which the M-step
/// does) restricted to the terms the documents use, and what the model needs besides: the number of documents, the sum of
/// their E[ln θ] (for alpha `auto`), and when asked, the document part of the variational
/// bound and the words it covers.
///
/// Sums add exactly as gensim's do (`LdaState.merge`): a merge is an element-wise addition
/// over the union of the two term lists, so the engine's fixed merge tree makes the result
/// independent of threads and workers.
public struct LDAStatistics<Scalar: LinearAlgebraScalar>: Sendable, Equatable {
    /// The terms with statistics, ascending; nil when every term of the model has a column.
    public var terms: [Int32]?
    /// topics x terms.count (or x the model's terms when `terms` is nil), a column per term.
    public var values: Matrix<Scalar>
    public var documents: Int
    /// Documents whose γ converged before the iteration limit.
    public var converged: Int
    /// Σ over the documents of E[ln θ_d], one value per topic.
    public var logThetaSum: [Double]
    /// Σ over the documents of the document part of the bound (zero unless evaluated).
    public var documentBound: Double
    /// The words (sum of counts) of the documents.
    public var words: Double

    public var topics: Int { values.rows }

    /// The statistics as a dense topics x `termCount` matrix.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func dense(termCount: Int) -> Matrix<Scalar> {
        guard let terms else { return values }
        var full = Matrix<Scalar>(rows: topics, columns: termCount)
        let k = topics
        values.storage.withUnsafeBufferPointer { source in
            full.storage.withUnsafeMutableBufferPointer { target in
                for (column, term) in terms.enumerated() {
                    let from = column * k, to = Int(term) * k
                    for i in 0..<k { target[to + i] = source[from + i] }
                }
            }
        }
        return full
    }

    /// The statistics of `earlier` and `later` together. Columns of terms in both are added;
    /// the union goes dense when it covers more than half of `termCount`.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    static func merged(_ earlier: LDAStatistics, _ later: LDAStatistics, termCount: Int) -> LDAStatistics {
        let k = earlier.topics
        var result = LDAStatistics(
            terms: nil, values: Matrix(rows: 0, columns: 0), documents: earlier.documents + later.documents,
            converged: earlier.converged + later.converged,
            logThetaSum: zip(earlier.logThetaSum, later.logThetaSum).map { $0 + $1 },
            documentBound: earlier.documentBound + later.documentBound, words: earlier.words + later.words)
        guard let a = earlier.terms, let b = later.terms, let union = Self.union(a, b, limit: termCount / 2) else {
            var sum = earlier.dense(termCount: termCount)
            add(later, into: &sum, k: k)
            result.values = sum
            return result
        }
        var sum = Matrix<Scalar>(rows: k, columns: union.count)
        sum.storage.withUnsafeMutableBufferPointer { target in
            for part in [earlier, later] {
                guard let terms = part.terms else { continue }
                var positions: [Int32] = []
                positions.reserveCapacity(terms.count)
                var position = 0
                for term in terms {
                    while union[position] != term { position += 1 }
                    positions.append(Int32(position))
                }
                addColumns(part.values, positions: positions, into: target, k: k)
            }
        }
        result.terms = union
        result.values = sum
        return result
    }

    /// The ascending union of two ascending term lists; nil when it has more than `limit` terms
    /// (the statistics then go dense).
    private static func union(_ a: [Int32], _ b: [Int32], limit: Int) -> [Int32]? {
        var union: [Int32] = []
        union.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] < b[j]) { union.append(a[i]); i += 1 }
            else if i == a.count || b[j] < a[i] { union.append(b[j]); j += 1 }
            else { union.append(a[i]); i += 1; j += 1 }
        }
        return union.count > limit ? nil : union
    }

    /// `sum` += `part`, for a dense topics x terms `sum`.
    private static func add(_ part: LDAStatistics, into sum: inout Matrix<Scalar>, k: Int) {
        sum.storage.withUnsafeMutableBufferPointer { target in
            if let terms = part.terms {
                addColumns(part.values, positions: terms, into: target, k: k)
            } else {
                part.values.storage.withUnsafeBufferPointer { source in
                    for index in source.indices { target[index] += source[index] }
                }
            }
        }
    }

    /// Column positions[j] of target (k rows) += column j of `values`.
    private static func addColumns(_ values: Matrix<Scalar>, positions: [Int32], into target: UnsafeMutableBufferPointer<Scalar>,
                                   k: Int) {
        values.storage.withUnsafeBufferPointer { source in
            positions.withUnsafeBufferPointer { positions in
                guard let first = positions.baseAddress, let from = source.baseAddress else { return }
                Scalar.addColumns(k: k, n: positions.count, source: from, positions: first, target: target.baseAddress!)
            }
        }
    }
}
