#if canImport(Glibc)
import Glibc
#endif

/// Latent's own corpus format: a memory-mapped compressed-sparse-row file that reads without
/// parsing and gives any document directly.
///
/// Layout (little-endian), every section starting on an 8-byte boundary:
///
/// | bytes | content |
/// |---|---|
/// | 0-7 | magic `LATENTBC` |
/// | 8-11 | format version (1) |
/// | 12-15 | weight size in bytes: 4 (Float32) or 8 (Float64) |
/// | 16-23 | documents |
/// | 24-31 | terms |
/// | 32-39 | non-zeros |
/// | 40-47 | checksum of everything after the 64-byte header |
/// | 48-63 | zero |
/// | 64- | term ids (Int32 x non-zeros), padded; weights, padded; document offsets (UInt64 x (documents + 1)) |
///
/// Opening checks the magic, version, sizes against the file length, the checksum, and that
/// the offsets start at 0, never decrease and end at the non-zero count; term ids are checked
/// against the term count as documents are read. A corrupt file is a `CorpusError`, never a
/// crash.
public struct BinaryCorpus: Corpus {
    public let path: String
    let mapping: MappedFile
    public let documentTotal: Int
    public let termTotal: Int
    public let nonZeroTotal: Int
    public let weightSize: Int
    let idsOffset: Int
    let weightsOffset: Int
    let offsetsOffset: Int

    static let magic = Array("LATENTBC".utf8)
    static let version: UInt32 = 1
    static let headerSize = 64

    public var documentCount: Int? { documentTotal }
    public var termCount: Int? { termTotal }
    public var nonZeroCount: Int? { nonZeroTotal }

    /// Maps `path` and validates it (the checksum pass reads the whole file once unless
    /// `verifyChecksum` is false).
    public init(path: String, verifyChecksum: Bool = true) throws {
        self.path = path
        mapping = try MappedFile(path: path)
        let bytes = mapping.bytes
        func fail(_ message: String) -> CorpusError { CorpusError(code: .format, file: path, message: message) }
        guard bytes.count >= Self.headerSize else { throw fail("truncated: \(bytes.count) bytes, a header needs \(Self.headerSize)") }
        guard Array(bytes[0..<8]) == Self.magic else { throw fail("bad magic; expected a Latent binary corpus ('LATENTBC')") }
        let version = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == Self.version else { throw fail("format version \(version); expected \(Self.version)") }
        let weightSize = Int(bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
        guard weightSize == 4 || weightSize == 8 else { throw fail("weight size \(weightSize); expected 4 or 8") }
        let documents = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        let terms = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
        let nonZeros = bytes.loadUnaligned(fromByteOffset: 32, as: UInt64.self).littleEndian
        let checksum = bytes.loadUnaligned(fromByteOffset: 40, as: UInt64.self).littleEndian
        let limit = UInt64(1) << 40
        guard documents < limit, nonZeros < limit, terms <= UInt64(Int32.max) else {
            throw fail("header declares \(documents) documents, \(terms) terms, \(nonZeros) non-zeros: out of range")
        }
        documentTotal = Int(documents)
        termTotal = Int(terms)
        nonZeroTotal = Int(nonZeros)
        self.weightSize = weightSize
        idsOffset = Self.headerSize
        weightsOffset = idsOffset + padded(nonZeroTotal * 4)
        offsetsOffset = weightsOffset + padded(nonZeroTotal * weightSize)
        let expectedLength = offsetsOffset + (documentTotal + 1) * 8
        guard bytes.count == expectedLength else {
            throw CorpusError(code: .inconsistent, file: path,
                              message: "file has \(bytes.count) bytes; the header's counts need \(expectedLength) (truncated or corrupt)")
        }
        if verifyChecksum {
            // Pages are handed back as the pass leaves them (they stay in the page cache):
            // a mapping's touched pages count in the process's resident memory, and a
            // corpus of gigabytes would otherwise count whole.
            let mapping = mapping
            let actual = Self.checksum(UnsafeRawBufferPointer(rebasing: bytes[Self.headerSize...])) { done in
                mapping.release(Self.headerSize + done.lowerBound..<Self.headerSize + done.upperBound)
            }
            guard actual == checksum else {
                throw CorpusError(code: .inconsistent, file: path, message: "checksum mismatch: the data is corrupt")
            }
        }
        var previous: UInt64 = 0
        for index in 0...documentTotal {
            let offset = bytes.loadUnaligned(fromByteOffset: offsetsOffset + index * 8, as: UInt64.self).littleEndian
            guard offset >= previous, offset <= nonZeros, index > 0 || offset == 0 else {
                throw CorpusError(code: .inconsistent, file: path, message: "document offset \(index) is \(offset); offsets must rise from 0 to \(nonZeros)")
            }
            previous = offset
        }
        guard previous == nonZeros else {
            throw CorpusError(code: .inconsistent, file: path, message: "offsets end at \(previous); expected \(nonZeros)")
        }
    }

    /// A 64-bit checksum over 8-byte words (the tail zero-padded): a multiply-xorshift mix, fast
    /// enough to verify gigabytes at memory speed.
    /// `passed` is told of each block of 64 MiB the pass has finished with.
    package static func checksum(_ data: UnsafeRawBufferPointer, passed: (Range<Int>) -> Void = { _ in }) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(data.count)
        let words = data.count / 8
        let blockWords = 8 << 20
        var blockStart = 0
        while blockStart < words {
            let blockEnd = min(words, blockStart + blockWords)
            for index in blockStart..<blockEnd {
                let word = data.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self).littleEndian
                hash = (hash ^ word) &* 0xFF51_AFD7_ED55_8CCD
                hash ^= hash >> 32
            }
            passed(blockStart * 8..<blockEnd * 8)
            blockStart = blockEnd
        }
        var tail: UInt64 = 0
        for index in (words * 8)..<data.count { tail |= UInt64(data[index]) << (8 * UInt64(index - words * 8)) }
        hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return hash ^ (hash >> 29)
    }

    @inline(__always)
    func documentRange(_ number: Int) -> Range<Int> {
        let bytes = mapping.bytes
        let start = Int(bytes.loadUnaligned(fromByteOffset: offsetsOffset + number * 8, as: UInt64.self).littleEndian)
        let end = Int(bytes.loadUnaligned(fromByteOffset: offsetsOffset + (number + 1) * 8, as: UInt64.self).littleEndian)
        return start..<end
    }

    /// The entries of the documents `numbers` (inside the corpus): from the first one's start
    /// to the last one's end; empty for no documents.
    func entryRange(_ numbers: Range<Int>) -> Range<Int> {
        numbers.isEmpty ? 0..<0 : documentRange(numbers.lowerBound).lowerBound..<documentRange(numbers.upperBound - 1).upperBound
    }

    /// Appends document `number` to `chunk`, checking its term ids; returns the index after
    /// its last entry.
    @discardableResult
    func append(document number: Int, to chunk: inout SparseChunk) throws -> Int {
        var previous: Int32 = -1
        let entries = documentRange(number)
        for entry in entries {
            let (term, weight) = try checkedEntry(entry, document: number, after: previous)
            previous = term
            chunk.appendEntry(term: term, weight: weight)
        }
        chunk.finishDocument()
        return entries.upperBound
    }

    /// Entry `entry` (of document `number`), checked: its term id above `previous` (ids
    /// ascend within a document) and below the term count, its weight finite.
    @inline(__always)
    func checkedEntry(_ entry: Int, document number: Int, after previous: Int32) throws -> (term: Int32, weight: Double) {
        let bytes = mapping.bytes
        let term = bytes.loadUnaligned(fromByteOffset: idsOffset + entry * 4, as: Int32.self).littleEndian
        guard term > previous, Int(term) < termTotal else {
            throw CorpusError(code: .inconsistent, file: path,
                              message: "document \(number): term id \(term) out of order or outside 0..<\(termTotal)")
        }
        let weight: Double = weightSize == 8
            ? Double(bitPattern: bytes.loadUnaligned(fromByteOffset: weightsOffset + entry * 8, as: UInt64.self).littleEndian)
            : Double(Float(bitPattern: bytes.loadUnaligned(fromByteOffset: weightsOffset + entry * 4, as: UInt32.self).littleEndian))
        guard weight.isFinite else {
            throw CorpusError(code: .outOfRange, file: path, message: "document \(number): term \(term) has weight \(weight)")
        }
        return (term, weight)
    }

    /// Document `number` (0-based).
    public func document(at number: Int) throws -> SparseDocument {
        guard number >= 0 && number < documentTotal else {
            throw CorpusError(code: .outOfRange, file: path, message: "document \(number) requested; the corpus has \(documentTotal)")
        }
        var chunk = SparseChunk(reservingDocuments: 1)
        try append(document: number, to: &chunk)
        return chunk.document(0)
    }

    public func makeReader() -> Reader { Reader(corpus: self) }

    public struct Reader: DocumentReader {
        let corpus: BinaryCorpus
        var next = 0
        /// Entries before this one have been handed back (`releaseEntries`).
        var released = 0

        /// From the offsets, which were checked when the file was opened.
        public func entries(inNext documents: Int) -> Int? {
            corpus.entryRange(next..<max(next, min(corpus.documentTotal, next + max(0, documents)))).count
        }

        public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            guard next < corpus.documentTotal else { return false }
            let read = try corpus.append(document: next, to: &chunk)
            next += 1
            if read - released >= BinaryCorpus.releaseEntries {
                corpus.release(entries: released..<read)
                released = read
            }
            return true
        }
    }

    /// Entries read between hand-backs of the pages behind a reader: 4 million (16 MB of
    /// term ids and 32 MB of Float64 weights).
    static let releaseEntries = 4 << 20

    /// Hands back the mapped pages that hold only the term ids and weights of `entries`, once
    /// read: they stay in the page cache, and reading them again maps them again. Without
    /// this, a pass over a corpus of gigabytes leaves all of it counted in the process's
    /// resident memory.
    func release(entries: Range<Int>) {
        mapping.release(idsOffset + entries.lowerBound * 4..<idsOffset + entries.upperBound * 4)
        mapping.release(weightsOffset + entries.lowerBound * weightSize..<weightsOffset + entries.upperBound * weightSize)
    }

    /// Writes `corpus` in the binary format with weights of `weightSize` bytes (4 or 8).
    @discardableResult
    public static func write<C: Corpus>(_ corpus: C, to path: String, weightSize: Int = 8, termCount: Int? = nil,
                                        replacing: ReplacePolicy = .sameKind,
                                        progress: ((Int) -> Void)? = nil, group: OutputGroup? = nil) throws -> CorpusStatistics {
        precondition(weightSize == 4 || weightSize == 8)
        // Term ids go to the destination file and weights to a scratch file, so one pass suffices.
        let file = try AtomicFileWriter(path: path, kind: .binaryCorpus, replacing: replacing, group: group)
        let side = try AtomicFileWriter(scratchBeside: path)
        try file.write(bytes: [UInt8](repeating: 0, count: headerSize))
        var offsets: [UInt64] = [0]
        var stats = CorpusStatistics()
        try corpus.forEachChunk(size: 10_000) { chunk in
            try chunk.termIDs.withUnsafeBytes { try file.write(raw: $0) }
            if weightSize == 8 {
                try chunk.weights.withUnsafeBytes { try side.write(raw: $0) }
            } else {
                try chunk.weights.map(Float.init).withUnsafeBytes { try side.write(raw: $0) }
            }
            for j in 0..<chunk.documentCount {
                offsets.append(offsets[offsets.count - 1] + UInt64(chunk.columnStarts[j + 1] - chunk.columnStarts[j]))
                if chunk.columnStarts[j + 1] == chunk.columnStarts[j] { stats.emptyDocuments += 1 }
            }
            stats.documents += chunk.documentCount
            stats.nonZeros += chunk.nonZeroCount
            stats.terms = max(stats.terms, chunk.termBound)
            progress?(stats.documents)
        }
        if let termCount { stats.terms = max(stats.terms, termCount) } else if let declared = corpus.termCount { stats.terms = max(stats.terms, declared) }
        try file.write(bytes: [UInt8](repeating: 0, count: padded(stats.nonZeros * 4) - stats.nonZeros * 4))
        let weightsSource = try side.readBack()
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try block.withUnsafeMutableBytes { try weightsSource.read(into: $0) }
            if n == 0 { break }
            try file.write(bytes: block[0..<n])
        }
        try file.write(bytes: [UInt8](repeating: 0, count: padded(stats.nonZeros * weightSize) - stats.nonZeros * weightSize))
        try offsets.map(\.littleEndian).withUnsafeBytes { try file.write(raw: $0) }
        try file.flush()

        var header = magic
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { header += $0 } }
        put(version)
        put(UInt32(weightSize))
        put(UInt64(stats.documents))
        put(UInt64(stats.terms))
        put(UInt64(stats.nonZeros))
        try file.commitChecksummed { data in
            put(checksum(UnsafeRawBufferPointer(rebasing: data[headerSize...])))
            header += [UInt8](repeating: 0, count: headerSize - header.count)
            return header
        }
        return stats
    }
}

@inline(__always)
func padded(_ size: Int) -> Int { (size + 7) & ~7 }

/// A read-only memory mapping of a whole file, unmapped on deinit.
package final class MappedFile: @unchecked Sendable {
    package let bytes: UnsafeRawBufferPointer

    package init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CorpusError(code: .io, file: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CorpusError(code: .io, file: path, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            throw CorpusError(code: .io, file: path, message: "cannot map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Unmaps the whole pages inside `range` (byte offsets) from this process; they stay in
    /// the page cache, and touching them again maps them again from the file. Only the
    /// process's resident memory changes: the mapping is read-only, so no page differs from
    /// the file.
    package func release(_ range: Range<Int>) {
        guard let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + range.lowerBound + page - 1) / page * page
        let end = (Int(bitPattern: base) + min(range.upperBound, bytes.count)) / page * page
        guard end > start, let address = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(address, end - start, MADV_DONTNEED)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
