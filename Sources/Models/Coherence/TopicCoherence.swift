import Foundation
import LatentCorpus

/// How coherent a topic's top words are, as gensim's `CoherenceModel` measures it.
public enum CoherenceMeasure: String, Sendable, CaseIterable {
    /// Mimno et al. 2011: for each word and each word before it in the topic's list, the log
    /// of how often the documents holding the earlier word also hold it (ε = 1e-12), averaged.
    /// Counts documents of a bag-of-words corpus.
    case uMass = "u_mass"
    /// Röder et al. 2015: each word's NPMI context vector over the topic's words against the
    /// whole topic's, by cosine, averaged; probabilities from boolean sliding windows of 110
    /// tokens over the tokenised texts.
    case cV = "c_v"
}

/// Topic coherence (u_mass and c_v), equal to gensim 4.4's `CoherenceModel` on the same
/// topics and data: the same segmentation, windows, smoothing and means.
///
/// One difference kept on purpose, to agree with gensim: when c_v's window slides on, gensim
/// marks the word that left the window as absent even when the window still holds it
/// elsewhere; this does the same.
public enum TopicCoherence {
    /// gensim's ε in the direct confirmation measures.
    static let epsilon = 1e-12

    /// u_mass of each topic (a list of term ids, most probable first) over `corpus`.
    public static func uMass(topics: [[Int32]], corpus: some Corpus) throws -> [Double] {
        var counts = CoOccurrences(topics: topics)
        try corpus.forEachDocument { document in
            counts.add(document.termIDs)
        }
        let documents = Double(counts.windows)
        return topics.map { words in
            var sum = 0.0, segments = 0
            for i in words.indices.dropFirst() {
                for j in 0..<i {
                    segments += 1
                    let starCount = counts.occurrences(words[j])
                    guard starCount > 0 else { continue }  // gensim's ZeroDivisionError: 0
                    let both = counts.coOccurrences(words[i], words[j])
                    sum += Foundation.log((Double(both) / documents + epsilon) / (Double(starCount) / documents))
                }
            }
            return segments == 0 ? .nan : sum / Double(segments)
        }
    }

    /// c_v of each topic (a list of term ids, most probable first) over tokenised `texts`,
    /// whose tokens `vocabulary` maps to term ids, with windows of `window` tokens.
    public static func cV(topics: [[Int32]], texts: (_ body: ([String]) throws -> Void) throws -> Void,
                          vocabulary: Vocabulary, window: Int = 110) throws -> [Double] {
        var counts = CoOccurrences(topics: topics)
        let none = Int32(-1)
        var slider = [Bool](repeating: false, count: counts.relevant.count)
        try texts { tokens in
            let ids: [Int32] = tokens.map { token in
                guard let id = vocabulary.id(of: token), counts.index[id] != nil else { return none }
                return id
            }
            guard !ids.isEmpty else {
                counts.windows += 1
                return
            }
            if ids.count <= window {
                counts.add(ids.filter { $0 != none })
                return
            }
            // gensim's sliding set: the first window's words; then per step the word that
            // left is unmarked (even if it is still inside) and the word that came is marked.
            for i in slider.indices { slider[i] = false }
            for id in ids[0..<window] { if let position = counts.index[id] { slider[position] = true } }
            counts.addMarked(slider)
            for start in 1...(ids.count - window) {
                if ids[start - 1] != none, let left = counts.index[ids[start - 1]] { slider[left] = false }
                let came = ids[start + window - 1]
                if came != none, let index = counts.index[came] { slider[index] = true }
                counts.addMarked(slider)
            }
        }
        let n = Double(counts.windows)
        func npmi(_ a: Int32, _ b: Int32) -> Double {
            let both = Double(a == b ? counts.occurrences(a) : counts.coOccurrences(a, b)) / n
            let pa = Double(counts.occurrences(a)) / n, pb = Double(counts.occurrences(b)) / n
            return Foundation.log((both + epsilon) / (pa * pb)) / -Foundation.log(both + epsilon)
        }
        return topics.map { words in
            let pairs = words.map { a in words.map { b in npmi(a, b) } }
            // The whole topic's context vector: Σ over its words.
            let whole = words.indices.map { j in words.indices.reduce(0.0) { $0 + pairs[$1][j] } }
            let wholeNorm = whole.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            var sum = 0.0
            for i in words.indices {
                let vector = pairs[i]
                let dot = zip(vector, whole).reduce(0.0) { $0 + $1.0 * $1.1 }
                let norm = vector.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
                sum += dot / (norm * wholeNorm)
            }
            return words.isEmpty ? .nan : sum / Double(words.count)
        }
    }
}

/// Counts of the topics' words and of their pairs over windows (documents, or sliding
/// windows of texts): only the pairs of words that share a topic are kept.
struct CoOccurrences {
    /// The topics' distinct words, and where each is in `relevant`.
    let relevant: [Int32]
    let index: [Int32: Int]
    var windows = 0
    private var single: [Int]
    private var pairs: [Int: Int] = [:]
    private let needed: Set<Int>

    init(topics: [[Int32]]) {
        let relevant = Array(Set(topics.joined())).sorted()
        let index = Dictionary(uniqueKeysWithValues: relevant.enumerated().map { ($0.element, $0.offset) })
        self.relevant = relevant
        self.index = index
        single = [Int](repeating: 0, count: relevant.count)
        var needed = Set<Int>()
        let n = relevant.count
        for words in topics {
            let positions = words.compactMap { index[$0] }
            for a in positions { for b in positions where a != b { needed.insert(Self.key(a, b, n)) } }
        }
        self.needed = needed
    }

    private static func key(_ a: Int, _ b: Int, _ n: Int) -> Int { min(a, b) * n + max(a, b) }

    func occurrences(_ word: Int32) -> Int { index[word].map { single[$0] } ?? 0 }

    func coOccurrences(_ a: Int32, _ b: Int32) -> Int {
        guard let i = index[a], let j = index[b] else { return 0 }
        return pairs[Self.key(i, j, relevant.count)] ?? 0
    }

    /// One window holding `words` (term ids; repeats and words outside the topics ignored).
    mutating func add(_ words: [Int32]) {
        let present = Array(Set(words.compactMap { index[$0] })).sorted()
        count(present)
    }

    /// One window holding the words marked.
    mutating func addMarked(_ marked: [Bool]) {
        count(marked.indices.filter { marked[$0] })
    }

    private mutating func count(_ present: [Int]) {
        windows += 1
        let n = relevant.count
        for (position, i) in present.enumerated() {
            single[i] += 1
            for j in present[(position + 1)...] {
                let key = Self.key(i, j, n)
                if needed.contains(key) { pairs[key, default: 0] += 1 }
            }
        }
    }
}

