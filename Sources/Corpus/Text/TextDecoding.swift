import Foundation
import Logging
import Synchronization

/// How a text file is encoded, told by its byte-order mark: UTF-8 unless it starts with
/// the UTF-16 mark (FF FE little-endian, FE FF big-endian). A UTF-8 mark (EF BB BF) is
/// skipped.
enum TextEncoding: Equatable {
    case utf8
    case utf16(bigEndian: Bool)

    /// The encoding of `bytes`, the first bytes of a file, and the length of its mark.
    static func detect(_ bytes: some Collection<UInt8>) -> (TextEncoding, markLength: Int) {
        let head = Array(bytes.prefix(3))
        if head.starts(with: [0xFF, 0xFE]) { return (.utf16(bigEndian: false), 2) }
        if head.starts(with: [0xFE, 0xFF]) { return (.utf16(bigEndian: true), 2) }
        if head.starts(with: [0xEF, 0xBB, 0xBF]) { return (.utf8, 3) }
        return (.utf8, 0)
    }
}

/// Text from bytes that should be UTF-8. Bytes that are not part of a valid UTF-8 sequence
/// are dropped, as gensim's tokenizer does (`errors='ignore'`); the offset of the first one
/// is returned so that the caller can say where.
func decodeUTF8DroppingInvalid(_ bytes: UnsafeRawBufferPointer) -> (text: String, firstInvalid: Int?) {
    if let text = String(validating: bytes, as: UTF8.self) { return (text, nil) }
    var kept: [UInt8] = []
    kept.reserveCapacity(bytes.count)
    var firstInvalid: Int?
    var position = 0
    while position < bytes.count {
        let length = validSequenceLength(bytes, at: position)
        if length == 0 {
            if firstInvalid == nil { firstInvalid = position }
            position += 1
        } else {
            kept.append(contentsOf: bytes[position..<(position + length)])
            position += length
        }
    }
    return (String(decoding: kept, as: UTF8.self), firstInvalid)
}

/// The length of the valid UTF-8 sequence starting at `position`, or 0 when none starts
/// there (Unicode's table of well-formed sequences: no overlongs, no surrogates, nothing
/// above U+10FFFF). Dropping one byte at a time where this is 0 drops exactly the bytes a
/// decoder that skips maximal invalid subparts drops, since those are continuation bytes,
/// which never start a valid sequence.
private func validSequenceLength(_ bytes: UnsafeRawBufferPointer, at position: Int) -> Int {
    let lead = bytes[position]
    if lead < 0x80 { return 1 }
    func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
        position + offset < bytes.count && range.contains(bytes[position + offset])
    }
    switch lead {
    case 0xC2...0xDF:
        return continuation(1) ? 2 : 0
    case 0xE0:
        return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
    case 0xE1...0xEC, 0xEE...0xEF:
        return continuation(1) && continuation(2) ? 3 : 0
    case 0xED:
        return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
    case 0xF0:
        return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
    case 0xF1...0xF3:
        return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
    case 0xF4:
        return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : 0
    default:
        return 0
    }
}

/// A byte stream whose first bytes have been read already (to tell its encoding), handed
/// out again before the rest: so a text source is opened once, and pipes work.
final class PeekedReader: ByteReading {
    private let source: any ByteReading
    /// The first bytes of the stream (fewer when it is shorter).
    let head: [UInt8]
    private var handedOut = 0

    init(_ source: any ByteReading, count: Int) throws {
        self.source = source
        var head = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = try head.withUnsafeMutableBytes { raw in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
            }
            if n == 0 { break }
            filled += n
        }
        self.head = Array(head.prefix(filled))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard handedOut < head.count else { return try source.read(into: buffer) }
        let n = min(buffer.count, head.count - handedOut)
        for index in 0..<n { buffer[index] = head[handedOut + index] }
        handedOut += n
        return n
    }
}

/// A UTF-16 byte stream read as UTF-8, for line-oriented reading of UTF-16 text files.
/// Unpaired surrogates become U+FFFD; an odd last byte is dropped.
final class UTF16ToUTF8Reader: ByteReading {
    private let source: any ByteReading
    private let bigEndian: Bool
    private var raw = [UInt8](repeating: 0, count: 1 << 16)
    /// A byte of an incomplete code unit, carried to the next read.
    private var carried: UInt8?
    /// A high surrogate waiting for its low half.
    private var high: UInt16?
    private var finished = false

    init(source: any ByteReading, bigEndian: Bool) {
        self.source = source
        self.bigEndian = bigEndian
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        // A code unit becomes at most 3 bytes and a surrogate pair 4: reading at most
        // 2/3 of the room in raw bytes always fits.
        guard buffer.count >= 8 else { return 0 }
        var produced = 0
        while produced == 0 && !finished {
            var count = 0
            if let carried {
                raw[0] = carried
                count = 1
                self.carried = nil
            }
            let room = min(raw.count, buffer.count / 3 * 2) - count
            let n = try raw.withUnsafeMutableBytes { all in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: all[count..<(count + room)]))
            }
            if n == 0 {
                finished = true
                if high != nil {
                    high = nil
                    produced += put(0xFFFD, into: buffer, at: produced)
                }
                break
            }
            count += n
            if count % 2 == 1 {
                carried = raw[count - 1]
                count -= 1
            }
            for index in stride(from: 0, to: count, by: 2) {
                let (high, low) = bigEndian ? (raw[index], raw[index + 1]) : (raw[index + 1], raw[index])
                let unit = UInt16(high) << 8 | UInt16(low)
                produced += transcode(unit, into: buffer, at: produced)
            }
        }
        return produced
    }

    private func transcode(_ unit: UInt16, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var written = 0
        if let pending = high {
            high = nil
            if (0xDC00...0xDFFF).contains(unit) {
                let scalar = 0x10000 + ((UInt32(pending) - 0xD800) << 10) + (UInt32(unit) - 0xDC00)
                return put(scalar, into: buffer, at: offset)
            }
            written += put(0xFFFD, into: buffer, at: offset)
        }
        switch unit {
        case 0xD800...0xDBFF: high = unit
        case 0xDC00...0xDFFF: written += put(0xFFFD, into: buffer, at: offset + written)
        default: written += put(UInt32(unit), into: buffer, at: offset + written)
        }
        return written
    }

    private func put(_ scalar: UInt32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var written = 0
        for byte in UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}")! {
            buffer[offset + written] = byte
            written += 1
        }
        return written
    }
}

/// What reading a text source found that its user should hear about, shared by every pass
/// over it: files that are not UTF-8 (a warning once per file, naming the line and byte
/// offset), UTF-16 files (read, and said so once per file), and what bagging over a fixed
/// vocabulary dropped.
public final class TextDiagnostics: Sendable {
    /// What `TextCorpus` passes counted while bagging.
    public struct Bagging: Sendable, Equatable {
        public var documents = 0
        public var tokens = 0
        /// Tokens not in the vocabulary, dropped (gensim's `doc2bow` drops them too).
        public var unknownTokens = 0
        /// Documents left with no known token.
        public var emptyDocuments = 0
    }

    private let logger: Logger?
    private let warned = Mutex<Set<String>>([])
    private let counts = Mutex(Bagging())

    /// Counts of every bagging pass so far.
    public var bagging: Bagging { counts.withLock { $0 } }

    func bagged(tokens: Int, known: Int) {
        counts.withLock { counts in
            counts.documents += 1
            counts.tokens += tokens
            counts.unknownTokens += tokens - known
            if known == 0 { counts.emptyDocuments += 1 }
        }
    }

    public init(logger: Logger?) {
        self.logger = logger
    }

    /// Files warned about so far.
    public var filesWithWarnings: Set<String> { warned.withLock { $0 } }

    func invalidUTF8(file: String, line: Int?, offset: Int) {
        guard firstTime("utf8:" + file) else { return }
        let place = line.map { "\(file):\($0) (byte \(offset))" } ?? "\(file) (byte \(offset))"
        logger?.warning("\(place): not valid UTF-8; bytes that are not UTF-8 are skipped, as gensim does (said once per file)")
    }

    func utf16(file: String, bigEndian: Bool) {
        guard firstTime("utf16:" + file) else { return }
        logger?.info("\(file): UTF-16 \(bigEndian ? "big" : "little")-endian text (byte-order mark); read as such")
    }

    private func firstTime(_ key: String) -> Bool {
        warned.withLock { $0.insert(key).inserted }
    }
}
