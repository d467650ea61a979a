/// A corpus file from which any range of documents can be read directly, without a pass
/// from the start: the binary format, or Matrix Market with its `.index` of offsets (and
/// not compressed). This is what lets a cluster's workers read their chunks themselves
/// from shared storage, given only the path and the range.
public protocol RangeReadableCorpus: Corpus {
    /// The file the documents are in.
    var path: String { get }
    /// Whether `chunk(documents:)` can work on this file (an index may be missing).
    var supportsRanges: Bool { get }
    /// Documents `range` (0-based, within the corpus) as one chunk whose first document is
    /// `range.lowerBound`.
    func chunk(documents range: Range<Int>) throws -> SparseChunk
}

extension RangeReadableCorpus {
    func checkRange(_ range: Range<Int>, total: Int) throws {
        guard range.lowerBound >= 0, range.upperBound <= total else {
            throw CorpusError(code: .outOfRange, file: path,
                              message: "documents \(range.lowerBound)..<\(range.upperBound) requested; the corpus has \(total)")
        }
    }
}

extension BinaryCorpus: RangeReadableCorpus {
    public var supportsRanges: Bool { true }

    public func chunk(documents range: Range<Int>) throws -> SparseChunk {
        try checkRange(range, total: documentTotal)
        let entries = entryRange(range)
        var chunk = SparseChunk(firstDocument: range.lowerBound, reservingDocuments: range.count, nonZeros: entries.count)
        for number in range { try append(document: number, to: &chunk) }
        if !range.isEmpty { release(entries: entries) }
        return chunk
    }
}

extension MatrixMarketCorpus {
    /// Whether `chunk(documents:)` works: it needs the index and an uncompressed file.
    public var supportsRanges: Bool {
        index != nil && !path.hasSuffix(".gz") && !path.hasSuffix(".bz2")
    }
}

extension MatrixMarketCorpus: RangeReadableCorpus {
    public func chunk(documents range: Range<Int>) throws -> SparseChunk {
        guard let index, supportsRanges else {
            throw CorpusError(code: .io, file: path, message: "reading a range of documents needs an uncompressed file with its index \(path).index")
        }
        try checkRange(range, total: min(documentTotal, index.count))
        var chunk = SparseChunk(firstDocument: range.lowerBound, reservingDocuments: range.count)
        // Seek to the first document of the range that has entries; the reader fills in the
        // empty ones around it.
        guard let start = range.first(where: { index[$0] >= 0 }) else {
            for _ in range { chunk.finishDocument() }
            return chunk
        }
        let source = try ByteSource(path: path)
        try source.seek(to: index[start])
        for _ in range.lowerBound..<start { chunk.finishDocument() }
        var reader = Reader(corpus: self, lines: LineReader(source: source, startingAt: index[start]), nextDocument: start,
                            lineNumbersKnown: false, singleDocument: true)
        var read = start - range.lowerBound
        while read < range.count, try reader.appendNext(to: &chunk) { read += 1 }
        // Past the last entry of the file: the rest of the range is empty documents.
        while read < range.count {
            chunk.finishDocument()
            read += 1
        }
        return chunk
    }
}

extension CorpusFile {
    /// Opens `path` for reading ranges of documents, or fails saying why it cannot.
    public static func openRangeReadable(_ path: String) throws -> any RangeReadableCorpus {
        if isBinary(path) { return try BinaryCorpus(path: path, verifyChecksum: false) }
        let corpus = try MatrixMarketCorpus(path: path)
        guard corpus.supportsRanges else {
            throw CorpusError(code: .io, file: path, message: "reading a range of documents needs an uncompressed file with its index \(path).index")
        }
        return corpus
    }
}
