/// One result of a similarity query: a document of the index (its number, counted from 0 in
/// the order the documents were added, as gensim's positions) and its cosine similarity.
public struct SimilarityResult: Sendable, Equatable, Codable {
    public var document: Int
    public var score: Double

    public init(document: Int, score: Double) {
        self.document = document
        self.score = score
    }
}

/// How results are ranked.
public enum SimilarityOrder: String, Sendable, Codable {
    /// By similarity, highest first; equal similarities by document number (Latent's default).
    case similarity
    /// By magnitude of similarity, as gensim's `num_best` does (`full2sparse_clipped`,
    /// `Similarity._nlargest`): the most negative similarities rank with the most positive,
    /// and similarities within 1e-9 of 0 are left out.
    case magnitude
}

/// The best `count` of a stream of (document, score) pairs, by `order`, without sorting the
/// stream: a binary heap of the best so far whose root is the worst of them, so each further
/// pair costs one comparison unless it enters. Ties between equal keys go to the lower
/// document number, so results never depend on the order the pairs came in (shards, threads).
struct TopN {
    let count: Int
    let order: SimilarityOrder
    /// A heap ordered so that the root is the entry that leaves first.
    private var heap: [(key: Double, document: Int, score: Double)] = []

    init(count: Int, order: SimilarityOrder) {
        self.count = max(0, count)
        self.order = order
        heap.reserveCapacity(min(self.count, 1 << 16))
    }

    /// Whether `a` ranks below `b`.
    @inline(__always)
    private static func worse(_ a: (key: Double, document: Int, score: Double), _ b: (key: Double, document: Int, score: Double)) -> Bool {
        a.key < b.key || (a.key == b.key && a.document > b.document)
    }

    /// The key a score ranks by; nil when it is left out.
    @inline(__always)
    func key(_ score: Double) -> Double? {
        switch order {
        case .similarity: return score.isNaN ? nil : score
        case .magnitude:
            let magnitude = abs(score)
            return magnitude > 1e-9 ? magnitude : nil
        }
    }

    /// The lowest key a new pair needs to be considered (−∞ until the heap is full).
    var threshold: Double { heap.count < count ? -.infinity : heap[0].key }

    mutating func offer(document: Int, score: Double) {
        guard count > 0, let key = key(score) else { return }
        let entry = (key: key, document: document, score: score)
        if heap.count < count {
            heap.append(entry)
            siftUp(heap.count - 1)
        } else if Self.worse(heap[0], entry) {
            heap[0] = entry
            siftDown(0)
        }
    }

    mutating func merge(_ other: TopN) {
        for entry in other.heap { offer(document: entry.document, score: entry.score) }
    }

    /// The results, best first.
    func results() -> [SimilarityResult] {
        heap.sorted { Self.worse($1, $0) }.map { SimilarityResult(document: $0.document, score: $0.score) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.worse(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var worst = parent
            if left < heap.count, Self.worse(heap[left], heap[worst]) { worst = left }
            if right < heap.count, Self.worse(heap[right], heap[worst]) { worst = right }
            if worst == parent { return }
            heap.swapAt(parent, worst)
            parent = worst
        }
    }
}
