import Foundation
import LatentCorpus
import LatentLinearAlgebra

/// A bag-of-words corpus drawn from planted topics, as LDA's generative story has it: each
/// topic spreads its mass over `termsPerTopic` terms (Zipf-like weights), each document mixes
/// one to three topics, and its words are drawn one by one from the mixture. The planted
/// topic-term distributions are kept for checking what a model recovers.
public struct PlantedTopics: Sendable {
    public let corpus: InMemoryCorpus
    public let terms: Int
    /// topics x terms, each row a probability distribution.
    public let topics: [[Double]]

    public init(terms: Int = 500, documents: Int = 2000, topics: Int = 5, termsPerTopic: Int = 40,
                wordsPerDocument: ClosedRange<Int> = 40...120, seed: UInt64 = 11) {
        var generator = SeededGenerator(seed: seed)
        var planted: [[Double]] = []
        var cumulative: [[(Double, Int32)]] = []
        for _ in 0..<topics {
            var row = [Double](repeating: 0, count: terms)
            var chosen = Set<Int>()
            while chosen.count < min(termsPerTopic, terms) { chosen.insert(Int(generator.next() % UInt64(terms))) }
            for (rank, term) in chosen.sorted().enumerated() { row[term] = 1 / Double(rank % 10 + 1) }
            let sum = row.reduce(0, +)
            row = row.map { $0 / sum }
            planted.append(row)
            var running = 0.0
            cumulative.append(row.enumerated().filter { $0.element > 0 }.map { term, p in
                running += p
                return (running, Int32(term))
            })
        }
        var documentsOut: [SparseDocument] = []
        for _ in 0..<documents {
            let mixed = (0..<(1 + Int(generator.next() % 3))).map { _ in Int(generator.next() % UInt64(topics)) }
            let length = wordsPerDocument.lowerBound + Int(generator.next() % UInt64(wordsPerDocument.count))
            var counts: [Int32: Double] = [:]
            for _ in 0..<length {
                let table = cumulative[mixed[Int(generator.next() % UInt64(mixed.count))]]
                let u = generator.nextOpenUnit() * (table.last?.0 ?? 1)
                let term = table.first { $0.0 >= u }?.1 ?? table[table.count - 1].1
                counts[term, default: 0] += 1
            }
            let entries = counts.sorted { $0.key < $1.key }
            documentsOut.append(SparseDocument(uncheckedTermIDs: entries.map(\.key), weights: entries.map(\.value)))
        }
        corpus = InMemoryCorpus(documentsOut, termCount: terms)
        self.terms = terms
        self.topics = planted
    }

    /// The Jensen-Shannon divergence (natural log, 0 to ln 2) of two distributions.
    public static func jensenShannon(_ p: [Double], _ q: [Double]) -> Double {
        func kl(_ a: [Double], _ m: [Double]) -> Double {
            zip(a, m).reduce(0) { $0 + ($1.0 > 0 ? $1.0 * Foundation.log($1.0 / $1.1) : 0) }
        }
        let m = zip(p, q).map { ($0 + $1) / 2 }
        return (kl(p, m) + kl(q, m)) / 2
    }

    /// For each planted topic, the smallest Jensen-Shannon divergence to one of `found`.
    public func bestMatches(_ found: [[Double]]) -> [Double] {
        topics.map { planted in found.map { Self.jensenShannon(planted, $0) }.min() ?? .infinity }
    }
}
