import LatentCorpus
import LatentLinearAlgebra

/// A Wikipedia-shaped synthetic corpus from an LDA-like generative process, generated on
/// the fly (nothing is held but a Zipf table), reproducible from its seed.
///
/// - `topics` latent topics; topic t weighs the terms by a Zipf law (exponent `zipf`) over
///   its own permutation of the vocabulary, (a_t·rank + b_t) mod V with a_t prime to V.
/// - One background topic that every document mixes in (weight `background`): function
///   words, which TF-IDF then pushes down, as in real text.
/// - Each document mixes 1 to 4 topics with exponential (Dirichlet(1)) weights; its length
///   in tokens is Poisson with mean `meanLength`; each token picks a topic by the weights,
///   then a rank from the Zipf law.
/// Document i depends only on (seed, i), so a second pass regenerates the same documents.
struct SyntheticCorpus: Corpus {
    let documents: Int
    /// The number of the first document: documents `first ..< first + documents` of the
    /// process (a held-out set from the same topics is the documents after the training set).
    let first: Int
    let terms: Int
    let topics: Int
    let meanLength: Double
    let zipf: Double
    let background: Double
    let seed: UInt64
    /// Walker's alias table of the Zipf law over ranks 0..<terms: O(1) per draw.
    let threshold: [Double]
    let alias: [Int32]
    /// Per topic (index `topics` is the background): multiplier and offset of its permutation.
    let permutations: [(Int, Int)]

    init(documents: Int, first: Int = 0, terms: Int, topics: Int, meanLength: Double, zipf: Double = 1.0,
         background: Double = 0.25, seed: UInt64) {
        self.documents = documents
        self.first = first
        self.terms = terms
        self.topics = topics
        self.meanLength = meanLength
        self.zipf = zipf
        self.background = background
        self.seed = seed
        let weights = (0..<terms).map { 1 / Foundation.pow(Double($0 + 1), zipf) }
        (threshold, alias) = aliasTable(weights)
        var generator = SeededGenerator(seed: seed ^ 0x5EED_7091C5)
        permutations = (0...topics).map { _ in
            var multiplier: Int
            repeat { multiplier = Int(generator.next() % UInt64(terms)) } while multiplier == 0 || gcd(multiplier, terms) != 1
            return (multiplier, Int(generator.next() % UInt64(terms)))
        }
    }

    var documentCount: Int? { documents }
    var termCount: Int? { terms }
    var nonZeroCount: Int? { nil }

    func makeReader() -> Reader { Reader(corpus: self) }

    struct Reader: DocumentReader {
        let corpus: SyntheticCorpus
        var next = 0
        var tokens: [Int32] = []

        mutating func appendNext(to chunk: inout SparseChunk) -> Bool {
            guard next < corpus.documents else { return false }
            corpus.generate(document: corpus.first + next, into: &tokens)
            tokens.sort()
            var start = 0
            while start < tokens.count {
                var end = start + 1
                while end < tokens.count && tokens[end] == tokens[start] { end += 1 }
                chunk.appendEntry(term: tokens[start], weight: Double(end - start))
                start = end
            }
            chunk.finishDocument()
            next += 1
            return true
        }
    }

    /// The tokens (term ids, unordered) of document `index`.
    func generate(document index: Int, into tokens: inout [Int32]) {
        tokens.removeAll(keepingCapacity: true)
        var generator = SeededGenerator(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let mixed = 1 + Int(generator.next() % 4)
        var chosen: [Int] = []
        var weights: [Double] = []
        for _ in 0..<mixed {
            chosen.append(Int(generator.next() % UInt64(topics)))
            weights.append(-Foundation.log(generator.nextOpenUnit()))
        }
        let topicMass = weights.reduce(0, +)
        weights = weights.map { $0 / topicMass * (1 - background) }
        let length = poisson(meanLength, &generator)
        for _ in 0..<length {
            var u = generator.nextOpenUnit()
            var topic = topics
            for (slot, weight) in weights.enumerated() {
                if u < weight { topic = chosen[slot]; break }
                u -= weight
            }
            let rank = zipfRank(generator.nextOpenUnit())
            let (multiplier, offset) = permutations[topic]
            let term = Int32((multiplier &* rank &+ offset) % terms)
            tokens.append(term)
        }
    }

    /// A rank drawn from the Zipf law through the alias table.
    private func zipfRank(_ u: Double) -> Int {
        let scaled = u * Double(terms)
        let column = min(Int(scaled), terms - 1)
        return scaled - Double(column) < threshold[column] ? column : Int(alias[column])
    }
}

/// Vose's alias method: column i keeps itself with probability threshold[i], else alias[i].
func aliasTable(_ weights: [Double]) -> (threshold: [Double], alias: [Int32]) {
    let n = weights.count
    let total = weights.reduce(0, +)
    var scaled = weights.map { $0 / total * Double(n) }
    var threshold = [Double](repeating: 1, count: n)
    var alias = (0..<n).map { Int32($0) }
    var small = scaled.indices.filter { scaled[$0] < 1 }
    var large = scaled.indices.filter { scaled[$0] >= 1 }
    while let s = small.popLast(), let l = large.last {
        threshold[s] = scaled[s]
        alias[s] = Int32(l)
        scaled[l] -= 1 - scaled[s]
        if scaled[l] < 1 {
            large.removeLast()
            small.append(l)
        }
    }
    return (threshold, alias)
}

/// A Poisson draw: Knuth's product method for small means, a rounded normal beyond 30.
func poisson(_ mean: Double, _ generator: inout SeededGenerator) -> Int {
    if mean > 30 {
        return max(0, Int((mean + mean.squareRoot() * generator.nextGaussian()).rounded()))
    }
    let limit = Foundation.exp(-mean)
    var product = generator.nextOpenUnit(), count = 0
    while product > limit {
        product *= generator.nextOpenUnit()
        count += 1
    }
    return count
}

func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

import Foundation
