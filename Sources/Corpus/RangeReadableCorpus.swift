import LatentLinearAlgebra

/// A corpus file from which any range of documents can be read directly, without a pass
/// from the start: the binary format, or Matrix Market with its `.index` of offsets (and
/// not compressed). This is what lets a cluster's workers read their chunks themselves
/// from shared storage, given only the path and the range.
public protocol RangeReadableCorpus: Corpus {
    /// The file the documents are in.
    var path: String { get }
    /// Whether `chunk(documents:)` can work on this file (an index may be missing), reading
    /// the documents of the file at `path` by their own numbers, as a worker given that path
    /// and a range does.
    var supportsRanges: Bool { get }
    /// Whether `chunk(documents:)` is the faster way to read chunks even in order, from the
    /// start of a pass (it then replaces a reader).
    var prefersRanges: Bool { get }
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
    public var prefersRanges: Bool { true }

    /// Documents `range` read straight from the mapping into the chunk's arrays: above a
    /// million entries on `BLAS.threads` threads, each checking and copying the documents of
    /// an equal share of the entries. The chunk's pages are then first touched on every core
    /// (on the machines measured, fresh memory costs about a nanosecond a byte to touch on
    /// one), and each thread hands back the mapped pages it has read every
    /// `releaseEntries` entries, as a reader does. The first bad document in order is thrown.
    public func chunk(documents range: Range<Int>) throws -> SparseChunk {
        try checkRange(range, total: documentTotal)
        let entries = entryRange(range)
        let count = entries.count, documents = range.count
        let columnStarts = [0] + range.map { documentRange($0).upperBound - entries.lowerBound }
        let workers = count >= 1 << 20 ? max(1, min(BLAS.threads, documents)) : 1
        // Worker w reads documents bounds[w]..<bounds[w + 1]: those starting in its share.
        let bounds = (0...workers).map { w in
            w == workers ? documents : columnStarts.partitioningIndex { $0 >= count * w / workers }
        }
        var weights: [Double] = []
        let termIDs = try [Int32](unsafeUninitializedCapacity: count) { ids, initializedIDs in
            weights = try [Double](unsafeUninitializedCapacity: count) { values, initializedValues in
                let (ids, values) = (ids, values)
                try concurrentlyThrowing(workers: workers) { w in
                    var released = entries.lowerBound + columnStarts[bounds[w]]
                    for j in bounds[w]..<bounds[w + 1] {
                        var previous: Int32 = -1
                        for local in columnStarts[j]..<columnStarts[j + 1] {
                            (ids[local], values[local]) = try checkedEntry(entries.lowerBound + local, document: range.lowerBound + j,
                                                                          after: previous)
                            previous = ids[local]
                        }
                        let read = entries.lowerBound + columnStarts[j + 1]
                        if read - released >= BinaryCorpus.releaseEntries || j + 1 == bounds[w + 1] {
                            release(entries: released..<read)
                            released = read
                        }
                    }
                }
                initializedValues = count
            }
            initializedIDs = count
        }
        return SparseChunk(uncheckedFirstDocument: range.lowerBound, columnStarts: columnStarts, termIDs: termIDs, weights: weights)
    }
}

extension RandomAccessCollection where Element: Comparable, Index == Int {
    /// The first index whose element satisfies `predicate`, which must be false for a prefix
    /// of the collection and true for the rest (binary search); `endIndex` when none does.
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var (low, high) = (startIndex, endIndex)
        while low < high {
            let middle = low + (high - low) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

extension MatrixMarketCorpus {
    /// Whether `chunk(documents:)` works: it needs the index and an uncompressed file.
    public var supportsRanges: Bool {
        index != nil && !path.hasSuffix(".gz") && !path.hasSuffix(".bz2")
    }
    /// A range read does not know its line numbers, which a reader's errors name.
    public var prefersRanges: Bool { false }
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
