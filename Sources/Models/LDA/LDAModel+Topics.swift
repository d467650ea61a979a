import Foundation
import LatentCorpus
import LatentLinearAlgebra

extension LDAModel {
    /// The `top` most probable terms of topic `topic` with their probabilities, most probable
    /// first (gensim's `show_topic` / `get_topic_terms`: λ's row normalised).
    public func topicTerms(_ topic: Int, top: Int = 10) -> [(term: Int, probability: Double)] {
        guard topic >= 0, topic < topicCount else { return [] }
        return Self.topTerms(of: topic, in: lambda, top: top)
    }

    /// Topic `topic` as gensim prints it: `0.031*"graph" + 0.025*"trees" + ...`.
    public func formattedTopic(_ topic: Int, top: Int = 10) -> String {
        format(topicTerms(topic, top: top))
    }

    /// The first `count` topics (all by default), formatted (gensim's `print_topics`, in
    /// topic order).
    public func formattedTopics(count: Int? = nil, top: Int = 10) -> [String] {
        let lambda = self.lambda
        return (0..<min(count ?? topicCount, topicCount)).map { format(Self.topTerms(of: $0, in: lambda, top: top)) }
    }

    /// The `top` most probable term ids of each topic, most probable first (the topics
    /// gensim's `CoherenceModel` takes from a model).
    public func topTermIDs(top: Int) -> [[Int32]] {
        let lambda = self.lambda
        return (0..<topicCount).map { Self.topTerms(of: $0, in: lambda, top: top).map { Int32($0.term) } }
    }

    private func format(_ terms: [(term: Int, probability: Double)]) -> String {
        terms.map { term, probability in
            String(format: "%.3f", probability) + "*\"\(vocabulary?[Int32(term)] ?? String(term))\""
        }.joined(separator: " + ")
    }

    private static func topTerms(of topic: Int, in lambda: Matrix<Double>, top: Int) -> [(term: Int, probability: Double)] {
        let k = lambda.rows
        let row = (0..<lambda.columns).map { lambda.storage[topic + $0 * k] }
        let sum = row.reduce(0, +)
        let order = row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }
        return order.prefix(max(0, top)).map { ($0, row[$0] / sum) }
    }
}
