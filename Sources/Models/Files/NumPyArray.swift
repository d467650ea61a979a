import LatentCorpus

/// Arrays in NumPy's `.npy` format (version 1.0), so that Python users can `numpy.load`
/// what Latent saves: little-endian `<f8`, `<f4` or `<i8`, C order, any number of
/// dimensions. Reading validates the magic, the header, the shape and the data size.
public struct NumPyArray: Sendable, Equatable {
    public enum Element: String, Sendable {
        case float64 = "<f8"
        case float32 = "<f4"
        case int64 = "<i8"

        var size: Int { self == .float32 ? 4 : 8 }
    }

    public let shape: [Int]
    public let element: Element
    /// The values in C (row-major) order, as Double (exact for all three element types in
    /// the ranges Latent stores).
    public let values: [Double]

    public init(shape: [Int], element: Element = .float64, values: [Double]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.element = element
        self.values = values
    }

    public var count: Int { values.count }

    /// The magic, version and header dictionary, padded so the data starts at a multiple of 64.
    private func encodedHeader() -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(element.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        bytes += [UInt8(length & 0xFF), UInt8(length >> 8)]
        bytes += Array(header.utf8)
        return bytes
    }

    public func encoded() -> [UInt8] {
        var bytes = encodedHeader()
        let start = bytes.count
        bytes += [UInt8](repeating: 0, count: values.count * element.size)
        bytes.withUnsafeMutableBytes { raw in
            // Whole values stored at their offsets: this runs over hundreds of megabytes.
            let data = raw.baseAddress! + start
            switch element {
            case .float64:
                for (i, v) in values.enumerated() { data.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
            case .float32:
                for (i, v) in values.enumerated() { data.storeBytes(of: Float(v).bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            case .int64:
                for (i, v) in values.enumerated() { data.storeBytes(of: Int64(v).littleEndian, toByteOffset: 8 * i, as: Int64.self) }
            }
        }
        return bytes
    }

    public func write(to path: String, replacing: ReplacePolicy = .sameKind) throws {
        let file = try AtomicFileWriter(path: path, kind: .numpyArray, replacing: replacing)
        if element == .float64 && 1.littleEndian == 1 {
            // Little-endian doubles are already the file's bytes: write them as they lie.
            try file.write(bytes: encodedHeader())
            try values.withUnsafeBytes { try file.write(raw: $0) }
        } else {
            try file.write(bytes: encoded())
        }
        try file.commit()
    }

    public init(contentsOf path: String) throws {
        try self.init(bytes: try readWholeFile(path: path), source: path)
    }

    public init(bytes: [UInt8], source: String) throws {
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
              let descrEnd = descrField.dropFirst().firstIndex(of: "'"),
              let element = Element(rawValue: String(descrField.dropFirst()[..<descrEnd]))
        else { throw fail("unsupported or missing 'descr' in the header; expected '<f8', '<f4' or '<i8'") }
        guard let order = field("fortran_order"), order.hasPrefix("False") else {
            throw fail("expected 'fortran_order': False")
        }
        guard let shapeField = field("shape"), shapeField.hasPrefix("("), let close = shapeField.firstIndex(of: ")") else {
            throw fail("missing 'shape' in the header")
        }
        var shape: [Int] = []
        for part in shapeField[shapeField.index(after: shapeField.startIndex)..<close].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: " ")
            if trimmed.isEmpty { continue }
            guard let dimension = Int(trimmed), dimension >= 0, dimension <= 1 << 40 else {
                throw fail("bad dimension '\(trimmed)' in the shape")
            }
            shape.append(dimension)
        }
        let (count, overflow) = shape.reduce((1, false)) { partial, d in
            let (product, o) = partial.0.multipliedReportingOverflow(by: d)
            return (product, partial.1 || o)
        }
        let dataStart = headerStart + headerLength
        guard !overflow, count <= (bytes.count - dataStart) / element.size, bytes.count - dataStart == count * element.size else {
            throw fail("the shape \(shape) needs \(overflow ? -1 : count * element.size) data bytes, the file has \(bytes.count - dataStart)")
        }
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for index in 0..<count {
                let offset = dataStart + index * element.size
                switch element {
                case .float64: values[index] = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                case .float32: values[index] = Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
                case .int64: values[index] = Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
                }
            }
        }
        self.init(shape: shape, element: element, values: values)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
