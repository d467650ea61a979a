/// A corpus in gensim's Matrix Market format, streamed from disk.
///
/// The layout is gensim's (`MmCorpus`): a header line
/// `%%MatrixMarket matrix coordinate real general` (matched case-insensitively), optional `%`
/// comment lines, a stats line `documents terms non-zeros`, then one line per entry,
/// `document term weight`, both 1-based, with document numbers that never go down. A
/// document with no lines is an empty document, and so is every document after the last
/// line up to the declared count. Terms within a document may come in any order (they are
/// sorted) but not twice. `.gz` and `.bz2` files are decompressed on the fly.
///
/// When `PATH.index` exists (gensim's pickled list of byte offsets, written by
/// `MmCorpus.serialize` and by `MatrixMarketWriter`), `document(at:)` reads one document
/// directly.
///
/// Every violation is a `CorpusError` naming the file and line: wrong header, missing or
/// extra fields, ids out of range, NaN or infinite weights, document numbers going down,
/// and a stats line that disagrees with the entries.
public struct MatrixMarketCorpus: Corpus {
    public let path: String
    public let documentTotal: Int
    public let termTotal: Int
    public let declaredNonZeros: Int
    /// Byte offsets of each document (-1 for an empty one), from `PATH.index`, if present.
    public let index: [Int]?
    /// Where the entries begin: byte offset and number of the stats line.
    let dataOffset: Int
    let statsLineNumber: Int

    public var documentCount: Int? { documentTotal }
    public var termCount: Int? { termTotal }
    public var nonZeroCount: Int? { declaredNonZeros }

    /// Opens `path` and reads its header; the entries are read on each pass.
    /// - Parameter indexPath: the offsets file; by default `path + ".index"` when it exists.
    public init(path: String, indexPath: String? = nil) throws {
        self.path = path
        let source = try ByteSource(path: path)
        let lines = LineReader(source: source)
        guard let header = try lines.nextLine() else {
            throw CorpusError(code: .format, file: path, line: 1,
                              message: "empty file; expected the header '%%MatrixMarket matrix coordinate real general'")
        }
        let headerText = String(decoding: header, as: UTF8.self)
        let normalized = headerText.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        guard normalized.hasPrefix("%%matrixmarket matrix coordinate real general")
            || normalized.hasPrefix("%%matrixmarket matrix coordinate integer general")
        else {
            let shown = headerText.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F } ? "'\(headerText.prefix(80))'" : "binary data"
            throw CorpusError(code: .format, file: path, line: 1,
                              message: "expected the header '%%MatrixMarket matrix coordinate real general', found \(shown)")
        }
        var stats: (Int, Int, Int)?
        while let line = try lines.nextLine() {
            if line.isEmpty || line[0] == UInt8(ascii: "%") { continue }
            var scanner = ByteScanner(line)
            var values: [Int] = []
            while true {
                scanner.skipBlanks()
                if scanner.atEnd { break }
                guard let value = scanner.unsignedInteger(), scanner.atFieldEnd else {
                    throw CorpusError(code: .syntax, file: path, line: lines.lineNumber,
                                      message: "expected the stats line 'documents terms non-zeros', found '\(scanner.currentField())' where a count belongs")
                }
                values.append(value)
            }
            guard values.count == 3 else {
                throw CorpusError(code: .syntax, file: path, line: lines.lineNumber,
                                  message: "expected the stats line 'documents terms non-zeros' (3 fields), found \(values.count) fields")
            }
            stats = (values[0], values[1], values[2])
            break
        }
        guard let (documents, terms, nonZeros) = stats else {
            throw CorpusError(code: .format, file: path, line: lines.lineNumber + 1,
                              message: "missing the stats line 'documents terms non-zeros' after the header")
        }
        guard terms <= Int(Int32.max) else {
            throw CorpusError(code: .outOfRange, file: path, line: lines.lineNumber,
                              message: "\(terms) terms exceed the supported \(Int32.max)")
        }
        documentTotal = documents
        termTotal = terms
        declaredNonZeros = nonZeros
        statsLineNumber = lines.lineNumber
        dataOffset = lines.offsetAfterLine

        let indexFile = indexPath ?? (path + ".index")
        if indexPath != nil || fileExists(indexFile) {
            let offsets = try PickledOffsets.read(path: indexFile)
            guard offsets.count == documents else {
                throw CorpusError(code: .inconsistent, file: indexFile,
                                  message: "the index has \(offsets.count) offsets, the corpus declares \(documents) documents")
            }
            index = offsets
        } else {
            index = nil
        }
    }

    public func makeReader() throws -> Reader {
        let source = try ByteSource(path: path)
        let lines: LineReader
        if source.isCompressed {
            lines = LineReader(source: source)
            // Skip to the entries by reading past the stats line.
            while lines.lineNumber < statsLineNumber { guard try lines.nextLine() != nil else { break } }
        } else {
            try source.seek(to: dataOffset)
            lines = LineReader(source: source, startingAt: dataOffset, lineNumber: statsLineNumber)
        }
        return Reader(corpus: self, lines: lines)
    }

    /// Document `number` (0-based), read through the index.
    public func document(at number: Int) throws -> SparseDocument {
        guard let index else {
            throw CorpusError(code: .io, file: path, message: "random access needs the index file \(path).index")
        }
        guard number >= 0 && number < index.count else {
            throw CorpusError(code: .outOfRange, file: path,
                              message: "document \(number) requested; the corpus has \(index.count) documents")
        }
        let offset = index[number]
        if offset < 0 { return SparseDocument() }
        let source = try ByteSource(path: path)
        try source.seek(to: offset)
        // Line numbers are unknown after a seek: errors name the byte offset instead.
        let reader = Reader(corpus: self, lines: LineReader(source: source, startingAt: offset), nextDocument: number,
                            lineNumbersKnown: false, singleDocument: true)
        var chunk = SparseChunk(reservingDocuments: 1)
        var mutableReader = reader
        guard try mutableReader.appendNext(to: &chunk) else { return SparseDocument() }
        return chunk.document(0)
    }

    /// One pass over the entries.
    public struct Reader: DocumentReader {
        let corpus: MatrixMarketCorpus
        let lines: LineReader
        /// 0-based number of the next document to hand out.
        var nextDocument = 0
        var lineNumbersKnown = true
        /// Stop after one document (random access): no count checks at the end.
        var singleDocument = false
        /// The entry read ahead: 0-based document and term, and weight.
        var pending: (document: Int, term: Int32, weight: Double)?
        var exhausted = false
        var entriesRead = 0

        init(corpus: MatrixMarketCorpus, lines: LineReader, nextDocument: Int = 0,
             lineNumbersKnown: Bool = true, singleDocument: Bool = false) {
            self.corpus = corpus
            self.lines = lines
            self.nextDocument = nextDocument
            self.lineNumbersKnown = lineNumbersKnown
            self.singleDocument = singleDocument
        }

        public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            if pending == nil && !exhausted { try readEntry() }
            guard let first = pending else {
                if singleDocument { return false }
                if nextDocument < corpus.documentTotal {
                    chunk.finishDocument()
                    nextDocument += 1
                    return true
                }
                if entriesRead != corpus.declaredNonZeros {
                    throw CorpusError(code: .inconsistent, file: corpus.path, line: corpus.statsLineNumber,
                                      message: "the stats line declares \(corpus.declaredNonZeros) non-zero entries, the file has \(entriesRead)")
                }
                return false
            }
            if first.document > nextDocument {
                chunk.finishDocument()
                nextDocument += 1
                return true
            }
            let line = lines.lineNumber
            while let entry = pending, entry.document == nextDocument {
                chunk.appendEntry(term: entry.term, weight: entry.weight)
                pending = nil
                try readEntry()
                if singleDocument && pending?.document != nextDocument { break }
            }
            if let repeated = chunk.sortOpenDocument() {
                throw error(.inconsistent, at: line,
                            "document \(nextDocument + 1) has term \(repeated + 1) twice; expected each term once per document")
            }
            chunk.finishDocument()
            nextDocument += 1
            return true
        }

        private func error(_ code: CorpusError.Code, at line: Int? = nil, _ message: String) -> CorpusError {
            if lineNumbersKnown { return CorpusError(code: code, file: corpus.path, line: line ?? lines.lineNumber, message: message) }
            return CorpusError(code: code, file: corpus.path, message: "at byte \(lines.lineOffset): \(message)")
        }

        /// Reads the next entry into `pending`, or sets `exhausted`.
        private mutating func readEntry() throws {
            while let line = try lines.nextLine() {
                var scanner = ByteScanner(line)
                scanner.skipBlanks()
                if scanner.atEnd || line[scanner.position] == UInt8(ascii: "%") { continue }
                guard let document = scanner.unsignedInteger(), scanner.atFieldEnd else {
                    throw error(.syntax, "expected a document number, found '\(scanner.currentField())'")
                }
                scanner.skipBlanks()
                guard !scanner.atEnd else { throw error(.syntax, "expected 3 fields (document term weight), found 1") }
                guard let term = scanner.unsignedInteger(), scanner.atFieldEnd else {
                    throw error(.syntax, "expected a term number, found '\(scanner.currentField())'")
                }
                scanner.skipBlanks()
                guard !scanner.atEnd else { throw error(.syntax, "expected 3 fields (document term weight), found 2") }
                guard let weight = scanner.real() else {
                    throw error(.syntax, "expected a weight, found '\(scanner.currentField())'")
                }
                scanner.skipBlanks()
                guard scanner.atEnd else {
                    throw error(.syntax, "expected 3 fields (document term weight), found more: '\(scanner.currentField())'")
                }
                guard weight.isFinite else { throw error(.outOfRange, "weight \(weight); expected a finite number") }
                guard document >= 1 && document <= corpus.documentTotal else {
                    throw error(.outOfRange, "document \(document) outside 1...\(corpus.documentTotal) declared by the stats line")
                }
                guard term >= 1 && term <= corpus.termTotal else {
                    throw error(.outOfRange, "term \(term) outside 1...\(corpus.termTotal) declared by the stats line")
                }
                guard document - 1 >= nextDocument else {
                    throw error(.inconsistent, "document \(document) after document \(nextDocument); document numbers must not go down")
                }
                entriesRead += 1
                pending = (document - 1, Int32(term - 1), weight)
                return
            }
            exhausted = true
        }
    }
}

func fileExists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0
}

#if canImport(Glibc)
import Glibc
#endif
