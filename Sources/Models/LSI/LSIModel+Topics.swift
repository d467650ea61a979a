import Foundation
import LatentCorpus
import LatentLinearAlgebra

/// A term and its weight in a topic.
public struct TopicTerm: Sendable, Equatable {
    public var termID: Int
    /// The vocabulary's word, or the id written out when the model has no vocabulary.
    public var term: String
    public var weight: Double
}

extension LSIModel {
    /// Topics kept: at most `parameters.topics`, fewer when the corpus has lower rank.
    public var topicCount: Int { storage.rank }

    /// The singular values, largest first (gensim's `projection.s`).
    public var singularValues: [Double] {
        switch storage {
        case .float64(let p): p.singularValues
        case .float32(let p): p.singularValues.map(Double.init)
        }
    }

    /// U, terms x topics (gensim's `projection.u`), as Float64.
    public var leftSingularVectors: Matrix<Double> {
        switch storage {
        case .float64(let p): p.basis.transposed()
        case .float32(let p): p.basis.converted(to: Double.self).transposed()
        }
    }

    /// Weight of `term` in topic `topic`; both in range.
    func weight(topic: Int, term: Int) -> Double {
        switch storage {
        case .float64(let p): p.basis[topic, term]
        case .float32(let p): Double(p.basis[topic, term])
        }
    }

    /// The `top` terms of topic `topic` by magnitude of weight (gensim's `show_topic`).
    /// Weights that agree to 6 decimals (as "response" and "time" do in the 9-document
    /// example, up to rounding) are ordered by term id, so that the listing is stable.
    public func topic(_ topic: Int, top: Int = 10) throws -> [TopicTerm] {
        guard topic >= 0 && topic < topicCount else {
            throw ModelError(code: .invalidParameter, message: "topic \(topic): the model has topics 0 to \(topicCount - 1)")
        }
        // The leading `top` in one pass, kept in order: a term enters only when it beats the
        // last kept one, which after the first few hundred terms few do (no sort of all terms).
        let count = min(max(0, top), termCount)
        var ranked: [(key: Int64, term: Int)] = []
        ranked.reserveCapacity(count + 1)
        for term in 0..<termCount where count > 0 {
            let key = Int64((Swift.abs(weight(topic: topic, term: term)) * 1e6).rounded())
            // Terms come in increasing order, so an equal key never beats one kept earlier.
            if ranked.count == count, let last = ranked.last, key <= last.key { continue }
            var position = ranked.count
            while position > 0 && ranked[position - 1].key < key { position -= 1 }
            ranked.insert((key, term), at: position)
            if ranked.count > count { ranked.removeLast() }
        }
        return ranked.map { entry in
            TopicTerm(termID: entry.term, term: termName(entry.term), weight: weight(topic: topic, term: entry.term))
        }
    }

    /// Topic `topic` as gensim prints it: `0.644*"system" + 0.404*"user" + ...`.
    public func formattedTopic(_ topic: Int, top: Int = 10) throws -> String {
        try self.topic(topic, top: top).map { String(format: "%.3f", $0.weight) + "*\"" + $0.term + "\"" }
            .joined(separator: " + ")
    }

    /// The first `count` topics (all by default), formatted (gensim's `print_topics`).
    public func formattedTopics(count: Int? = nil, top: Int = 10) throws -> [String] {
        try (0..<min(count ?? topicCount, topicCount)).map { try formattedTopic($0, top: top) }
    }

    func termName(_ term: Int) -> String {
        vocabulary?[Int32(term)] ?? String(term)
    }
}
