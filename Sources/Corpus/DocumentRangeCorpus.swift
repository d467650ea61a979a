/// Documents `range` of a base corpus (numbered from 0), as a corpus of their own: for
/// holding out the last documents of a corpus, or training on its first ones. Reading skips
/// the documents before the range, so it costs a read of them.
public struct DocumentRangeCorpus<Base: Corpus>: Corpus {
    public let base: Base
    public let range: Range<Int>

    /// Documents `range` of `base`, cut to the documents it has when it knows their number.
    public init(_ base: Base, documents range: Range<Int>) {
        self.base = base
        let upper = base.documentCount.map { min($0, range.upperBound) } ?? range.upperBound
        self.range = min(range.lowerBound, upper)..<upper
    }

    public var documentCount: Int? { base.documentCount == nil ? nil : range.count }
    public var termCount: Int? { base.termCount }
    public var nonZeroCount: Int? { nil }

    public func makeReader() throws -> Reader {
        Reader(base: try base.makeReader(), range: range)
    }

    public struct Reader: DocumentReader {
        var base: Base.Reader
        let range: Range<Int>
        var position = 0
        var skipped = SparseChunk()

        public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            while position < range.lowerBound {
                skipped.removeAll(firstDocument: 0)
                guard try base.appendNext(to: &skipped) else { return false }
                position += 1
            }
            guard position < range.upperBound, try base.appendNext(to: &chunk) else { return false }
            position += 1
            return true
        }
    }
}

/// A range of a file that reads ranges reads them too, numbered from the range's first
/// document. Only a range from the file's first document tells a cluster's workers to read
/// the file themselves (`supportsRanges`): a worker given the path and a range of documents
/// reads the file's own, numbered from the file's first. That is the training part of a
/// corpus whose held-out documents are its last.
extension DocumentRangeCorpus: RangeReadableCorpus where Base: RangeReadableCorpus {
    public var path: String { base.path }
    public var supportsRanges: Bool { base.supportsRanges && range.lowerBound == 0 }
    public var prefersRanges: Bool { base.prefersRanges }

    public func chunk(documents requested: Range<Int>) throws -> SparseChunk {
        try checkRange(requested, total: range.count)
        var chunk = try base.chunk(documents: (range.lowerBound + requested.lowerBound)..<(range.lowerBound + requested.upperBound))
        chunk.firstDocument = requested.lowerBound
        return chunk
    }
}
