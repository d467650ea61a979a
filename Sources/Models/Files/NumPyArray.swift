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
    private let storage: Storage

    /// Values as they are held: as Double, or, for a Float32 array built to be written, as
    /// the Float32 values themselves (a model's basis of hundreds of megabytes is then
    /// written as it lies, without a Double copy or a loop over its values).
    private enum Storage: Sendable {
        case doubles([Double])
        case floats([Float])
    }

    /// The values in C (row-major) order, as Double (exact for all three element types in
    /// the ranges Latent stores).
    public var values: [Double] {
        switch storage {
        case .doubles(let values): values
        case .floats(let values): values.map(Double.init)
        }
    }

    public init(shape: [Int], element: Element = .float64, values: [Double]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.element = element
        self.storage = .doubles(values)
    }

    /// A `<f4` array of `floats` in C order.
    public init(shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count, "shape \(shape) does not hold \(floats.count) values")
        self.shape = shape
        self.element = .float32
        self.storage = .floats(floats)
    }

    public var count: Int {
        switch storage {
        case .doubles(let values): values.count
        case .floats(let values): values.count
        }
    }

    /// Equal shape, element type and values, however the values are held.
    public static func == (lhs: NumPyArray, rhs: NumPyArray) -> Bool {
        lhs.shape == rhs.shape && lhs.element == rhs.element && lhs.values == rhs.values
    }

    /// The magic, version and header dictionary, padded so the data starts at a multiple of 64.
    private func encodedHeader() -> [UInt8] { NumPyHeader.encoded(descr: element.rawValue, shape: shape) }

    public func encoded() -> [UInt8] {
        let values = values
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
        switch storage {
        case .doubles(let values) where element == .float64 && 1.littleEndian == 1:
            // Little-endian values of the file's own type are already its bytes: write them
            // as they lie.
            try file.write(bytes: encodedHeader())
            try values.withUnsafeBytes { try file.write(raw: $0) }
        case .floats(let values) where 1.littleEndian == 1:
            try file.write(bytes: encodedHeader())
            try values.withUnsafeBytes { try file.write(raw: $0) }
        default:
            try file.write(bytes: encoded())
        }
        try file.commit()
    }

    public init(contentsOf path: String) throws {
        try self.init(bytes: try readWholeFile(path: path), source: path)
    }

    public init(bytes: [UInt8], source: String) throws {
        let header = try bytes.withUnsafeBytes { try NumPyHeader(parsing: $0, source: source) }
        guard let element = Element(rawValue: header.descr) else {
            throw CorpusError(code: .format, file: source, message:
                "unsupported 'descr' '\(header.descr)' in the header; expected '<f8', '<f4' or '<i8'")
        }
        let (shape, dataStart) = (header.shape, header.dataStart)
        let count = try header.checkedCount(elementSize: element.size, fileSize: bytes.count, source: source)
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
