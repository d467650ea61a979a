/// A re-iterable stream of sparse documents: gensim's "corpus".
///
/// A corpus is never loaded whole: each pass opens a fresh `Reader` that appends documents
/// one at a time into a `SparseChunk`, so memory is bounded by the chunk. Counts are given
/// when the corpus knows them without a pass (a Matrix Market header, a binary header).
///
/// Conformers are values that describe where the documents are (a path, a base corpus);
/// they are `Sendable` so that a pass can run on another thread (see `ChunkPrefetcher`).
public protocol Corpus: Sendable {
    associatedtype Reader: DocumentReader

    /// Starts a new pass over the documents.
    func makeReader() throws -> Reader

    /// The number of documents, when known without a pass.
    var documentCount: Int? { get }
    /// The number of terms (features): every term id is below it. When known.
    var termCount: Int? { get }
    /// The number of stored entries, when known.
    var nonZeroCount: Int? { get }
}

/// One pass over a corpus.
public protocol DocumentReader {
    /// Appends the next document as a new column of `chunk` and returns true, or returns
    /// false when the pass is over. Throws `CorpusError` on bad input, naming where.
    mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool

    /// The entries of the next `documents` documents (fewer at the end of the pass), when
    /// the reader knows them without reading (a binary corpus's offsets); nil otherwise.
    func entries(inNext documents: Int) -> Int?
}

extension DocumentReader {
    /// The next document, or nil at the end of the pass.
    public mutating func next() throws -> SparseDocument? {
        var chunk = SparseChunk(reservingDocuments: 1)
        guard try appendNext(to: &chunk) else { return nil }
        return chunk.document(0)
    }

    public func entries(inNext documents: Int) -> Int? { nil }

    /// Fills `chunk` (emptied first) with up to `size` documents; returns false when there
    /// were none left. Where the reader knows the chunk's entries in advance, their room is
    /// reserved at once: growing arrays of a billion entries would copy them again and
    /// again, and touch twice the memory they end up using.
    public mutating func fill(_ chunk: inout SparseChunk, firstDocument: Int, size: Int) throws -> Bool {
        chunk.removeAll(firstDocument: firstDocument)
        if let entries = entries(inNext: size) { chunk.reserveCapacity(documents: size, entries: entries) }
        while chunk.documentCount < size {
            guard try appendNext(to: &chunk) else { break }
        }
        return !chunk.isEmpty
    }
}

extension Corpus {
    /// Calls `body` with each document in order.
    public func forEachDocument(_ body: (SparseDocument) throws -> Void) throws {
        var reader = try makeReader()
        while let document = try reader.next() { try body(document) }
    }

    /// Calls `body` with consecutive chunks of `size` documents (the last may be shorter),
    /// reading on the calling thread. The chunk's storage is reused between calls.
    public func forEachChunk(size: Int, _ body: (SparseChunk) throws -> Void) throws {
        var reader = try makeReader()
        var chunk = SparseChunk(reservingDocuments: size)
        var next = 0
        while try reader.fill(&chunk, firstDocument: next, size: max(1, size)) {
            next += chunk.documentCount
            try body(chunk)
        }
    }

    /// Every document, read into memory (for small corpora and tests).
    public func allDocuments() throws -> [SparseDocument] {
        var documents: [SparseDocument] = []
        try forEachDocument { documents.append($0) }
        return documents
    }

    /// Counts found by one pass: documents, terms (largest id + 1), non-zeros, empty documents.
    public func statistics() throws -> CorpusStatistics {
        var stats = CorpusStatistics()
        try forEachChunk(size: 4096) { chunk in
            stats.documents += chunk.documentCount
            stats.nonZeros += chunk.nonZeroCount
            stats.terms = max(stats.terms, chunk.termBound)
            for j in 0..<chunk.documentCount where chunk.columnStarts[j] == chunk.columnStarts[j + 1] {
                stats.emptyDocuments += 1
            }
        }
        if let declared = termCount { stats.terms = max(stats.terms, declared) }
        return stats
    }
}

/// What one pass over a corpus counts.
public struct CorpusStatistics: Sendable, Equatable {
    public var documents = 0
    public var terms = 0
    public var nonZeros = 0
    public var emptyDocuments = 0

    public init() {}

    /// Non-zeros over documents x terms.
    public var density: Double {
        documents > 0 && terms > 0 ? Double(nonZeros) / (Double(documents) * Double(terms)) : 0
    }
}

/// A corpus held in memory: a list of documents (gensim's list-of-lists corpus).
public struct InMemoryCorpus: Corpus {
    public let documents: [SparseDocument]
    private let declaredTerms: Int?

    public init(_ documents: [SparseDocument], termCount: Int? = nil) {
        self.documents = documents
        self.declaredTerms = termCount
    }

    public var documentCount: Int? { documents.count }
    public var termCount: Int? {
        declaredTerms ?? Int((documents.compactMap { $0.termIDs.last }.max() ?? -1) + 1)
    }
    public var nonZeroCount: Int? { documents.reduce(0) { $0 + $1.count } }

    public func makeReader() -> Reader { Reader(documents: documents) }

    public struct Reader: DocumentReader {
        let documents: [SparseDocument]
        var position = 0

        public mutating func appendNext(to chunk: inout SparseChunk) -> Bool {
            guard position < documents.count else { return false }
            chunk.append(documents[position])
            position += 1
            return true
        }
    }
}
