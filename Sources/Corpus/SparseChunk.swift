/// A block of consecutive documents as a sparse terms x documents matrix in compressed
/// sparse column form (CSC): column j holds document `firstDocument + j`, its entries are
/// `termIDs[columnStarts[j] ..< columnStarts[j + 1]]` with the matching `weights`, term ids
/// ascending within a column. This is the unit the models compute on.
public struct SparseChunk: Sendable, Equatable {
    /// Index in the corpus of the first document of the chunk.
    public var firstDocument: Int
    /// Offsets into `termIDs` and `weights`; `documentCount + 1` of them, starting at 0.
    public private(set) var columnStarts: [Int]
    public private(set) var termIDs: [Int32]
    public private(set) var weights: [Double]

    public init(firstDocument: Int = 0, reservingDocuments documents: Int = 0, nonZeros: Int = 0) {
        self.firstDocument = firstDocument
        columnStarts = [0]
        columnStarts.reserveCapacity(documents + 1)
        termIDs = []
        termIDs.reserveCapacity(nonZeros)
        weights = []
        weights.reserveCapacity(nonZeros)
    }

    /// A chunk made of whole arrays its maker has checked already (offsets from 0, ascending,
    /// ending at the entry count; ids ascending within each document; finite weights).
    init(uncheckedFirstDocument firstDocument: Int, columnStarts: [Int], termIDs: [Int32], weights: [Double]) {
        self.firstDocument = firstDocument
        self.columnStarts = columnStarts
        self.termIDs = termIDs
        self.weights = weights
    }

    /// A chunk made of whole arrays (as decoded from another process), checked in one sweep:
    /// offsets from 0, ascending, ending at the entry count; term ids ascending within each
    /// document and below `termBound`; finite weights. The first violation is thrown as
    /// (field, what was expected).
    public init(checkedFirstDocument firstDocument: Int, columnStarts: [Int], termIDs: [Int32], weights: [Double],
                termBound: Int) throws(SparseChunkViolation) {
        guard columnStarts.first == 0, columnStarts.last == termIDs.count else {
            throw SparseChunkViolation(field: "document offsets", expected: "offsets from 0 to the \(termIDs.count) entries")
        }
        guard weights.count == termIDs.count else {
            throw SparseChunkViolation(field: "weights", expected: "one per term id (\(termIDs.count)), got \(weights.count)")
        }
        for document in 0..<(columnStarts.count - 1) {
            let (start, end) = (columnStarts[document], columnStarts[document + 1])
            guard start <= end else {
                throw SparseChunkViolation(field: "document offsets", expected: "ascending offsets, document #\(firstDocument + document) ends before it starts")
            }
            var previous: Int32 = -1
            for entry in start..<end {
                let term = termIDs[entry]
                guard term > previous, Int(term) < termBound else {
                    throw SparseChunkViolation(field: "term ids", expected: "ascending ids below \(termBound) in document #\(firstDocument + document), got \(term)")
                }
                guard weights[entry].isFinite else {
                    throw SparseChunkViolation(field: "weights", expected: "finite weights, got \(weights[entry]) in document #\(firstDocument + document)")
                }
                previous = term
            }
        }
        self.firstDocument = firstDocument
        self.columnStarts = columnStarts
        self.termIDs = termIDs
        self.weights = weights
    }

    public var documentCount: Int { columnStarts.count - 1 }
    public var nonZeroCount: Int { termIDs.count }
    public var isEmpty: Bool { documentCount == 0 }

    /// The largest term id plus one (0 for a chunk with no entries).
    public var termBound: Int { Int((termIDs.max() ?? -1) + 1) }

    /// Appends one entry to the document being built. Ids must ascend within a document:
    /// readers that cannot promise it call `sortLastDocument()` at the end of the document.
    @inline(__always)
    public mutating func appendEntry(term: Int32, weight: Double) {
        termIDs.append(term)
        weights.append(weight)
    }

    /// Closes the document being built (possibly with no entries) as the next column.
    @inline(__always)
    public mutating func finishDocument() {
        columnStarts.append(termIDs.count)
    }

    /// Appends a whole document as the next column.
    public mutating func append(_ document: SparseDocument) {
        termIDs.append(contentsOf: document.termIDs)
        weights.append(contentsOf: document.weights)
        finishDocument()
    }

    /// The entries appended since the last finished document, sorted by term id. Returns the
    /// first repeated id, if any, so the reader can report it.
    public mutating func sortOpenDocument() -> Int32? {
        let start = columnStarts[columnStarts.count - 1]
        let end = termIDs.count
        guard end - start > 1 else { return nil }
        var ascending = true
        for index in (start + 1)..<end where termIDs[index - 1] >= termIDs[index] {
            ascending = false
            break
        }
        if ascending { return nil }
        let pairs = (start..<end).map { (termIDs[$0], weights[$0]) }.sorted { $0.0 < $1.0 }
        for (offset, pair) in pairs.enumerated() {
            termIDs[start + offset] = pair.0
            weights[start + offset] = pair.1
        }
        for index in (start + 1)..<end where termIDs[index - 1] == termIDs[index] { return termIDs[index] }
        return nil
    }

    /// Document `j` of the chunk.
    public func document(_ j: Int) -> SparseDocument {
        let range = columnStarts[j]..<columnStarts[j + 1]
        return SparseDocument(uncheckedTermIDs: Array(termIDs[range]), weights: Array(weights[range]))
    }

    /// Every document of the chunk, in order.
    public var documents: [SparseDocument] { (0..<documentCount).map(document) }

    /// Makes room for `documents` more documents holding `entries` entries in all.
    public mutating func reserveCapacity(documents: Int, entries: Int) {
        columnStarts.reserveCapacity(columnStarts.count + documents)
        termIDs.reserveCapacity(termIDs.count + entries)
        weights.reserveCapacity(weights.count + entries)
    }

    /// Empties the chunk, keeping its capacity, to be filled from `firstDocument` on.
    public mutating func removeAll(firstDocument: Int) {
        self.firstDocument = firstDocument
        columnStarts.removeAll(keepingCapacity: true)
        columnStarts.append(0)
        termIDs.removeAll(keepingCapacity: true)
        weights.removeAll(keepingCapacity: true)
    }

    /// Replaces the last finished document with what `rewrite` makes of its ids and
    /// weights (which may drop entries; ids must stay ascending).
    public mutating func rewriteLastDocument(_ rewrite: (inout [Int32], inout [Double]) -> Void) {
        guard documentCount > 0 else { return }
        let start = columnStarts[columnStarts.count - 2]
        var ids = Array(termIDs[start...])
        var values = Array(weights[start...])
        termIDs.removeSubrange(start...)
        weights.removeSubrange(start...)
        rewrite(&ids, &values)
        termIDs.append(contentsOf: ids)
        weights.append(contentsOf: values)
        columnStarts[columnStarts.count - 1] = termIDs.count
    }
}

/// What `SparseChunk(checkedFirstDocument:...)` found wrong: the field and what was expected.
public struct SparseChunkViolation: Error, Sendable, Equatable {
    public let field: String
    public let expected: String
}
