import LatentCorpus

/// The header of a `.npy` file: magic, version, and the dictionary giving the element type
/// (`descr`), the order and the shape. Shared by `NumPyArray` (whole arrays in memory) and the
/// similarity index's shards (arrays written as a stream and memory-mapped).
struct NumPyHeader: Sendable, Equatable {
    var descr: String
    var shape: [Int]
    /// Where the values start in the file.
    var dataStart: Int

    /// A version 1.0 header for a C-order array; padded with spaces so that the values start
    /// at a multiple of 64, or at exactly `length` bytes when given (room for a shape that is
    /// only known once the values are written; nil when the header would not fit).
    static func encoded(descr: String, shape: [Int], length: Int? = nil) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        let total = length ?? unpadded + (64 - unpadded % 64) % 64
        header += String(repeating: " ", count: max(0, total - unpadded)) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let count = UInt16(header.utf8.count)
        bytes += [UInt8(count & 0xFF), UInt8(count >> 8)]
        bytes += Array(header.utf8)
        return bytes
    }

    /// Parses the header at the start of `bytes` (a whole file, or at least its header).
    /// - Throws: `CorpusError` (`.format`) naming `source` for anything but a C-order array.
    init(parsing bytes: UnsafeRawBufferPointer, source: String) throws {
        func fail(_ message: String) -> CorpusError { CorpusError(code: .format, file: source, message: message) }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw fail("not a NumPy .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerStart = major == 1 ? 10 : 12
        guard major == 1 || major == 2 || major == 3, bytes.count >= headerStart else {
            throw fail("unsupported .npy version \(major)")
        }
        let headerLength = major == 1 ? Int(bytes[8]) | Int(bytes[9]) << 8
            : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        guard bytes.count >= headerStart + headerLength else { throw fail("truncated header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        func field(_ name: String) -> Substring? {
            guard let range = header.range(of: "'\(name)':") else { return nil }
            return header[range.upperBound...].drop { $0 == " " }
        }
        guard let descrField = field("descr"), descrField.hasPrefix("'"),
              let descrEnd = descrField.dropFirst().firstIndex(of: "'")
        else { throw fail("missing 'descr' in the header") }
        guard let order = field("fortran_order"), order.hasPrefix("False") else {
            throw fail("expected 'fortran_order': False")
        }
        guard let shapeField = field("shape"), shapeField.hasPrefix("("), let close = shapeField.firstIndex(of: ")") else {
            throw fail("missing 'shape' in the header")
        }
        var shape: [Int] = []
        for part in shapeField[shapeField.index(after: shapeField.startIndex)..<close].split(separator: ",") {
            let trimmed = part.filter { $0 != " " }
            if trimmed.isEmpty { continue }
            guard let dimension = Int(trimmed), dimension >= 0, dimension <= 1 << 40 else {
                throw fail("bad dimension '\(trimmed)' in the shape")
            }
            shape.append(dimension)
        }
        descr = String(descrField.dropFirst()[..<descrEnd])
        self.shape = shape
        dataStart = headerStart + headerLength
    }

    /// The number of values, checked against a file of `fileSize` bytes holding exactly them.
    func checkedCount(elementSize: Int, fileSize: Int, source: String) throws -> Int {
        let (count, overflow) = shape.reduce((1, false)) { partial, d in
            let (product, o) = partial.0.multipliedReportingOverflow(by: d)
            return (product, partial.1 || o)
        }
        guard !overflow, fileSize >= dataStart, count <= (fileSize - dataStart) / elementSize,
              fileSize - dataStart == count * elementSize else {
            throw CorpusError(code: .format, file: source, message:
                "the shape \(shape) needs \(overflow ? -1 : count * elementSize) data bytes, the file has \(max(0, fileSize - dataStart))")
        }
        return count
    }
}
