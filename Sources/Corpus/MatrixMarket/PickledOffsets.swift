/// The `.index` file of gensim's indexed corpora: a Python pickle of a list of integers,
/// the byte offset of each document (-1 for an empty one).
///
/// Reading accepts what Python's pickler writes for a list of ints (protocols 2 to 5:
/// PROTO, FRAME, EMPTY_LIST, MEMOIZE, MARK, BININT1/BININT2/BININT/LONG1, APPEND(S),
/// STOP) and nothing else; nothing in the file is ever executed. Writing produces protocol
/// 4 as Python does for such a list, so gensim (`utils.unpickle`) reads it.
enum PickledOffsets {
    static func read(path: String) throws -> [Int] {
        let bytes = try readWholeFile(path: path)
        func fail(_ position: Int, _ message: String) -> CorpusError {
            CorpusError(code: .format, file: path, message: "byte \(position): \(message); expected a pickled list of integers")
        }
        var position = 0
        func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard position + count <= bytes.count else { throw fail(position, "unexpected end of file") }
            defer { position += count }
            return bytes[position..<(position + count)]
        }
        func littleEndian(_ slice: ArraySlice<UInt8>, signed: Bool) -> Int {
            var value = 0
            for (shift, byte) in slice.enumerated() { value |= Int(byte) << (8 * shift) }
            if signed, let last = slice.last, last & 0x80 != 0, slice.count < 8 { value -= 1 << (8 * slice.count) }
            return value
        }
        var offsets: [Int] = []
        var sawList = false
        while true {
            let opcodePosition = position
            let opcode = try take(1).first!
            switch opcode {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME
            case 0x5D: sawList = true  // EMPTY_LIST
            case 0x94, 0x28, 0x65, 0x61: break  // MEMOIZE, MARK, APPENDS, APPEND
            case 0x71: _ = try take(1)  // BINPUT
            case 0x72: _ = try take(4)  // LONG_BINPUT
            case 0x4B: offsets.append(littleEndian(try take(1), signed: false))  // BININT1
            case 0x4D: offsets.append(littleEndian(try take(2), signed: false))  // BININT2
            case 0x4A: offsets.append(littleEndian(try take(4), signed: true))  // BININT
            case 0x8A:  // LONG1
                let count = Int(try take(1).first!)
                guard count <= 8 else { throw fail(opcodePosition, "integer of \(count) bytes is too large") }
                offsets.append(count == 0 ? 0 : littleEndian(try take(count), signed: true))
            case 0x2E:  // STOP
                guard sawList else { throw fail(opcodePosition, "no list") }
                guard position == bytes.count else { throw fail(position, "data after the end of the pickle") }
                return offsets
            default:
                throw fail(opcodePosition, String(format: "unsupported pickle opcode 0x%02x", opcode))
            }
        }
    }

    /// The bytes Python's `pickle.dumps(offsets, protocol=4)` produces for a list of ints.
    static func encode(_ offsets: [Int]) -> [UInt8] {
        var body: [UInt8] = [0x5D, 0x94]  // EMPTY_LIST, MEMOIZE
        func appendInt(_ value: Int) {
            if value >= 0 && value < 256 {
                body += [0x4B, UInt8(value)]
            } else if value >= 0 && value < 65_536 {
                body += [0x4D, UInt8(value & 0xFF), UInt8(value >> 8)]
            } else if value >= Int(Int32.min) && value <= Int(Int32.max) {
                let bits = UInt32(bitPattern: Int32(value))
                body += [0x4A] + (0..<4).map { UInt8((bits >> (8 * $0)) & 0xFF) }
            } else {
                // LONG1: minimal two's-complement little-endian bytes.
                var bytes: [UInt8] = []
                var rest = value
                repeat {
                    bytes.append(UInt8(truncatingIfNeeded: rest))
                    rest >>= 8
                } while !(rest == 0 && bytes.last! & 0x80 == 0) && !(rest == -1 && bytes.last! & 0x80 != 0)
                body += [0x8A, UInt8(bytes.count)] + bytes
            }
        }
        // Python appends in batches of 1000: MARK items APPENDS, or item APPEND for a batch of one.
        var start = 0
        while start < offsets.count {
            let batch = offsets[start..<min(start + 1000, offsets.count)]
            if batch.count == 1 {
                appendInt(batch.first!)
                body.append(0x61)
            } else {
                body.append(0x28)
                for value in batch { appendInt(value) }
                body.append(0x65)
            }
            start += batch.count
        }
        body.append(0x2E)  // STOP
        let length = UInt64(body.count)
        return [0x80, 0x04, 0x95] + (0..<8).map { UInt8((length >> (8 * UInt64($0))) & 0xFF) } + body
    }
}
