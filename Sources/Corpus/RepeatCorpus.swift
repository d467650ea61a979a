/// The documents of a base corpus repeated, cycling, until `documents` have been produced
/// (gensim's `utils.RepeatCorpus`): a way to make a large corpus out of a small one.
///
/// A small base (at most `cacheLimit` stored entries) is read once and cycled from memory,
/// as gensim's `itertools.cycle` does; a larger one is re-read from the start on each cycle,
/// so memory stays bounded whatever the base.
public struct RepeatCorpus<Base: Corpus>: Corpus {
    public let base: Base
    public let documentTotal: Int
    private let cached: [SparseDocument]?

    /// - Parameters:
    ///   - cacheLimit: the largest base, in stored entries, kept in memory.
    public init(_ base: Base, documents: Int, cacheLimit: Int = 4_000_000) throws {
        self.base = base
        self.documentTotal = max(0, documents)
        if let nonZeros = base.nonZeroCount, nonZeros <= cacheLimit {
            cached = try base.allDocuments()
        } else {
            cached = nil
        }
    }

    public var documentCount: Int? { documentTotal }
    public var termCount: Int? { base.termCount }
    public var nonZeroCount: Int? {
        guard let cached else { return nil }
        guard !cached.isEmpty else { return 0 }
        let whole = documentTotal / cached.count, rest = documentTotal % cached.count
        let perCycle = cached.reduce(0) { $0 + $1.count }
        return whole * perCycle + cached.prefix(rest).reduce(0) { $0 + $1.count }
    }

    public func makeReader() throws -> Reader {
        Reader(corpus: self, streaming: cached == nil ? try base.makeReader() : nil)
    }

    public struct Reader: DocumentReader {
        let corpus: RepeatCorpus
        var streaming: Base.Reader?
        var produced = 0
        var position = 0
        /// Whether the current cycle of a streamed base produced anything (an empty base
        /// would otherwise be re-opened forever).
        var cycleProducedAny = false

        public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            guard produced < corpus.documentTotal else { return false }
            if let cached = corpus.cached {
                guard !cached.isEmpty else { return false }
                chunk.append(cached[position])
                position = position + 1 == cached.count ? 0 : position + 1
                produced += 1
                return true
            }
            guard var reader = streaming else { return false }
            if try reader.appendNext(to: &chunk) {
                streaming = reader
                cycleProducedAny = true
                produced += 1
                return true
            }
            guard cycleProducedAny else { return false }
            cycleProducedAny = false
            streaming = try corpus.base.makeReader()
            return try appendNext(to: &chunk)
        }
    }
}
