import LatentCorpus
import LatentLinearAlgebra

/// Bytes in Latent's portable encoding: what crosses between processes (chunks of documents,
/// a computation's parameters, partial states). Fixed-width little-endian integers and
/// IEEE floats, arrays as raw little-endian elements; no self-description, so each reader
/// knows what it expects and checks every count against the bytes that remain.
public struct PortableWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Int) { write(UInt64(bitPattern: Int64(value))) }

    public mutating func write(_ value: Double) { write(value.bitPattern) }

    /// A count followed by the raw elements (this code runs on little-endian machines only:
    /// x86-64 and arm64).
    public mutating func write<Element: BitwiseCopyable>(array: [Element]) {
        write(array.count)
        array.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func write<Scalar: LinearAlgebraScalar>(_ matrix: Matrix<Scalar>) {
        write(matrix.rows)
        write(matrix.columns)
        write(array: matrix.storage)
    }
}

/// Reads what a `PortableWriter` wrote, failing with `PortableEncodingError` naming the field
/// on anything short, oversized, out of range or not finite.
public struct PortableReader {
    private let bytes: [UInt8]
    private var offset = 0
    /// Names the payload in errors: "partial state of LSI chunk decomposition".
    public let payload: String

    public init(_ bytes: [UInt8], payload: String) {
        self.bytes = bytes
        self.payload = payload
    }

    public var remaining: Int { bytes.count - offset }

    public func error(_ field: String, _ expected: String) -> PortableEncodingError {
        PortableEncodingError(payload: payload, field: field, expected: expected)
    }

    public mutating func readUInt64(_ field: String) throws -> UInt64 {
        guard remaining >= 8 else { throw error(field, "8 more bytes, found \(remaining)") }
        defer { offset += 8 }
        return UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) })
    }

    /// An integer in `range`.
    public mutating func readInt(_ field: String, in range: ClosedRange<Int>) throws -> Int {
        let value = Int64(bitPattern: try readUInt64(field))
        guard value >= Int64(range.lowerBound), value <= Int64(range.upperBound) else {
            throw error(field, "a value in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
        return Int(value)
    }

    public mutating func readDouble(_ field: String) throws -> Double {
        let value = Double(bitPattern: try readUInt64(field))
        guard value.isFinite else { throw error(field, "a finite number, got \(value)") }
        return value
    }

    /// An array of at most `maxCount` elements; the count must fit in the bytes that remain.
    public mutating func readArray<Element: BitwiseCopyable>(_ field: String, of _: Element.Type = Element.self,
                                                             maxCount: Int = Int(Int32.max)) throws -> [Element] {
        let size = MemoryLayout<Element>.stride
        let count = try readInt("\(field) count", in: 0...maxCount)
        guard count <= remaining / size else {
            throw error(field, "\(count) elements (\(count * size) bytes), found \(remaining) bytes")
        }
        let array = [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + count * size)]))
            }
            initialized = count
        }
        offset += count * size
        return array
    }

    /// A matrix of finite values whose shape is within the given bounds.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public mutating func readMatrix<Scalar: LinearAlgebraScalar>(
        _ field: String, of _: Scalar.Type = Scalar.self, maxRows: Int, maxColumns: Int
    ) throws -> Matrix<Scalar> {
        let rows = try readInt("\(field) rows", in: 0...maxRows)
        let columns = try readInt("\(field) columns", in: 0...maxColumns)
        let values: [Scalar] = try readArray(field, maxCount: rows * columns)
        guard values.count == rows * columns else {
            throw error(field, "\(rows) x \(columns) = \(rows * columns) values, got \(values.count)")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw error(field, "finite values, found \(values[bad]) at (\(bad % max(rows, 1)), \(bad / max(rows, 1)))")
        }
        return Matrix(rows: rows, columns: columns, columnMajor: values)
    }

    /// A list of distinct term ids, ascending and below `termCount` (the terms a partial state
    /// has columns for).
    public mutating func readTermList(_ field: String, termCount: Int) throws -> [Int32] {
        let list: [Int32] = try readArray(field, maxCount: termCount)
        var previous: Int32 = -1
        for term in list {
            guard term > previous, Int(term) < termCount else {
                throw error(field, "ascending ids below \(termCount), got \(term)")
            }
            previous = term
        }
        return list
    }

    /// Fails unless every byte was read.
    public func finish() throws {
        guard remaining == 0 else { throw error("end", "no more bytes, found \(remaining) extra") }
    }
}

/// A payload from another process that does not decode: it names the payload, the field
/// and what was expected.
public struct PortableEncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public let payload: String
    public let field: String
    public let expected: String

    public var description: String { "\(payload): \(field): expected \(expected)" }
}

extension SparseChunk {
    /// The chunk in the portable encoding.
    public func portableBytes() -> [UInt8] {
        var writer = PortableWriter(reservingCapacity: 48 + columnStarts.count * 8 + nonZeroCount * 12)
        writer.write(firstDocument)
        writer.write(array: columnStarts)
        writer.write(array: termIDs)
        writer.write(array: weights)
        return writer.bytes
    }

    /// Decodes and checks a chunk: offsets from 0 ascending to the entry count, term ids in
    /// `0..<termBound` and ascending within each document, finite weights.
    public init(portableBytes bytes: [UInt8], termBound: Int, payload: String = "chunk") throws {
        var reader = PortableReader(bytes, payload: payload)
        let first = try reader.readInt("first document", in: 0...Int(Int64.max / 2))
        let starts: [Int] = try reader.readArray("document offsets")
        let terms: [Int32] = try reader.readArray("term ids")
        let weights: [Double] = try reader.readArray("weights")
        try reader.finish()
        do {
            try self.init(checkedFirstDocument: first, columnStarts: starts, termIDs: terms, weights: weights,
                          termBound: termBound)
        } catch {
            throw reader.error(error.field, error.expected)
        }
    }
}
