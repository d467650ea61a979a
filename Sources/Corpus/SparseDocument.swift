/// One document as a sparse vector: term ids in strictly ascending order with their weights
/// (gensim's bag-of-words `[(id, weight), ...]`).
public struct SparseDocument: Sendable, Equatable, Hashable {
    public private(set) var termIDs: [Int32]
    public private(set) var weights: [Double]

    public init() {
        termIDs = []
        weights = []
    }

    /// A document from (term id, weight) pairs in any order. Throws when an id is negative
    /// or repeated, or a weight is NaN or infinite; `source` names the origin in the error.
    public init(entries: [(Int32, Double)], source: String = "document") throws {
        let sorted = entries.sorted { $0.0 < $1.0 }
        for (index, (id, weight)) in sorted.enumerated() {
            guard id >= 0 else {
                throw CorpusError(code: .outOfRange, file: source, message: "term id \(id) is negative")
            }
            guard weight.isFinite else {
                throw CorpusError(code: .outOfRange, file: source, message: "term \(id) has weight \(weight); expected a finite number")
            }
            if index > 0 && sorted[index - 1].0 == id {
                throw CorpusError(code: .inconsistent, file: source, message: "term id \(id) appears twice")
            }
        }
        termIDs = sorted.map(\.0)
        weights = sorted.map(\.1)
    }

    /// A document from ids already strictly ascending and finite weights; checked in debug builds.
    public init(uncheckedTermIDs termIDs: [Int32], weights: [Double]) {
        assert(termIDs.count == weights.count)
        assert(zip(termIDs, termIDs.dropFirst()).allSatisfy { $0 < $1 })
        self.termIDs = termIDs
        self.weights = weights
    }

    public var count: Int { termIDs.count }
    public var isEmpty: Bool { termIDs.isEmpty }

    /// The (id, weight) pairs, gensim's bag-of-words.
    public var entries: [(id: Int32, weight: Double)] {
        zip(termIDs, weights).map { (id: $0, weight: $1) }
    }

    /// The Euclidean norm of the weights.
    public var norm: Double { weights.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}
