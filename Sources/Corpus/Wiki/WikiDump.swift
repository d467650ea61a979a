import Foundation
import Synchronization

/// One page of a MediaWiki XML export, as gensim's `extract_pages` sees it.
public struct WikiPage: Sendable, Equatable {
    /// The page's title (gensim's `title`); empty when the dump gives none.
    public var title: String
    /// The page's namespace number as written (`<ns>`, "0" for articles); nil when absent.
    public var namespace: String?
    /// The page's id (its first `<id>`, not the revision's), as written.
    public var id: String
    /// The text of its revision, XML entities decoded and line ends normalised; empty when
    /// the page has none.
    public var text: [UInt32]
    /// Where the page starts in the (uncompressed) XML, for error messages.
    public var byteOffset: Int
}

/// Reads the pages of a MediaWiki XML export (schema 0.10 or 0.11, any `export-` version), as
/// `.xml`, or `.xml.bz2` in one stream or several, in bounded memory: one page at a time, and
/// a page never needs more than its own text.
///
/// It reads the few elements gensim reads (a page's `title`, `ns`, first `id`, and its
/// revision's `text`) with XML's rules for them: entity and character references decoded,
/// `\r\n` and `\r` read as `\n`, comments, CDATA, processing instructions and a DOCTYPE handled.
/// Anything an XML parser refuses (bytes that are not UTF-8, control characters, unbalanced
/// tags, an unknown entity, a truncated file) is an error naming the byte offset.
public final class WikiDumpReader {
    public let path: String
    /// The dump's bytes, decompressed ahead on a thread of their own.
    private let blocks: OrderedPipeline<Segment, [UInt8]>
    private let readOffset = ReadOffset()
    private var buffer: [UInt8] = []
    private var position = 0
    private var consumedBefore = 0
    private var atEnd = false
    /// The open elements' names, outermost first.
    private var open: [String] = []
    private var checkedRoot = false
    /// The page being read.
    private var page: WikiPage?
    private var capture: Field?
    private var captured: [UInt32] = []
    private var sawID = false

    private enum Field { case title, namespace, id, text }

    /// Opens a dump. A multistream `.xml.bz2` is decompressed by stream on `threads` threads
    /// when its index is given, or found beside it (`NAME-index.txt.bz2` for `NAME.xml.bz2`);
    /// any other dump on one thread, ahead of the parsing.
    /// - Throws: `CorpusError` when the dump cannot be opened, or the index is not the dump's.
    public init(path: String, index: String? = nil, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        self.path = path
        // Opened here, so that a missing or unreadable file fails now; read on the thread.
        try ByteSource(path: path).close()
        let readOffset = readOffset
        if let indexPath = index ?? MultistreamIndex.companion(of: path) {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            let streams = try MultistreamIndex(path: indexPath, dumpSize: size)
            multistream = indexPath
            let bounds = [0] + streams.offsets + [size]
            blocks = OrderedPipeline(workers: threads, depth: 2 * max(1, threads) + 2, name: "latent.wiki.decompress", produce: { emit in
                guard let file = FileHandle(forReadingAtPath: path) else {
                    throw CorpusError(code: .io, file: path, message: "cannot open")
                }
                defer { try? file.close() }
                for (start, end) in zip(bounds, bounds.dropFirst()) where end > start {
                    try file.seek(toOffset: UInt64(start))
                    let data = [UInt8](try file.read(upToCount: end - start) ?? Data())
                    guard data.count == end - start else {
                        throw CorpusError(code: .io, file: path, message: "the file ends at byte \(start + data.count), before byte \(end) where the index puts a stream")
                    }
                    readOffset.value.withLock { $0 = end }
                    guard emit(Segment(start: start, bytes: data)) else { return }
                }
            }, transform: { try Bzip2.decompress($0.bytes, origin: $0.start, path: path) })
            return
        }
        multistream = nil
        blocks = OrderedPipeline(workers: 0, depth: 4, name: "latent.wiki.decompress", produce: { emit in
            let source = try ByteSource(path: path)
            while true {
                var block = [UInt8](repeating: 0, count: 1 << 20)
                let n = try block.withUnsafeMutableBytes { try source.read(into: $0) }
                readOffset.value.withLock { $0 = max($0, source.fileOffset) }
                guard n > 0 else { return }
                block.removeLast(block.count - n)
                guard emit(Segment(start: 0, bytes: block)) else { return }
            }
        }, transform: { $0.bytes })
    }

    /// The index the dump is decompressed by, in parallel; nil when read as one stream.
    public let multistream: String?

    /// Bytes of the dump file: a stream of a multistream dump, or a decompressed block.
    struct Segment: Sendable {
        var start: Int
        var bytes: [UInt8]
    }

    /// The offset, in the uncompressed XML, of the next byte to read.
    public var byteOffset: Int { consumedBefore + position }

    /// How far into the dump file (compressed bytes, for `.bz2`) reading has got.
    public var fileOffset: Int { readOffset.value.withLock { $0 } }

    /// The next page, or nil at the end of the dump.
    public func next() throws -> WikiPage? {
        while true {
            guard try ensure(1) else {
                if !open.isEmpty {
                    throw error(at: byteOffset, "the file ends inside <\(open.last ?? "")>: truncated dump")
                }
                guard checkedRoot else { throw error(at: 0, "no XML element: not a MediaWiki dump") }
                return nil
            }
            if buffer[position] == UInt8(ascii: "<") {
                if let finished = try markup() { return finished }
            } else {
                try characters()
            }
        }
    }

    // MARK: - Text

    /// Character data up to the next `<`, kept when inside a field being read. Runs of plain
    /// ASCII go in one step; references, line ends and other characters one by one.
    private func characters() throws {
        let keeping = capture != nil
        var out: [UInt32] = []
        swap(&out, &captured)
        defer { swap(&out, &captured) }
        while try ensure(1) {
            let start = position
            let stop = buffer.withUnsafeBufferPointer { bytes in
                var i = start
                while i < bytes.count {
                    let c = bytes[i]
                    if c == 0x3C || c == 0x26 || c == 0x0D || c >= 0x80 || (c < 0x20 && c != 0x09 && c != 0x0A) { break }
                    i += 1
                }
                return i
            }
            if keeping {
                buffer.withUnsafeBufferPointer { bytes in
                    for i in start..<stop { out.append(UInt32(bytes[i])) }
                }
            } else if open.isEmpty, buffer[start..<stop].contains(where: { !isXMLSpace(UInt32($0)) }) {
                throw error(at: consumedBefore + start, "text outside the root element")
            }
            position = stop
            guard stop < buffer.count else { continue }
            let byte = buffer[stop]
            if byte == UInt8(ascii: "<") { return }
            if byte == UInt8(ascii: "&") {
                let value = try reference()
                if keeping { out.append(value) }
                continue
            }
            let offset = byteOffset
            let scalar = try decodeUTF8()
            if open.isEmpty, !isXMLSpace(scalar) { throw error(at: offset, "text outside the root element") }
            guard keeping else { continue }
            if scalar == 0x0D {
                // \r\n and a lone \r are both a line end.
                if try ensure(1), buffer[position] == 0x0A { position += 1 }
                out.append(0x0A)
            } else {
                out.append(scalar)
            }
        }
    }

    /// One UTF-8 encoded character that XML allows.
    private func decodeUTF8() throws -> UInt32 {
        let start = byteOffset
        let lead = buffer[position]
        var length = 1
        var value = UInt32(lead)
        switch lead {
        case 0..<0x80: break
        case 0xC2..<0xE0: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0..<0xF0: length = 3; value = UInt32(lead & 0x0F)
        case 0xF0..<0xF5: length = 4; value = UInt32(lead & 0x07)
        default: throw error(at: start, "byte 0x\(String(lead, radix: 16)) is not UTF-8")
        }
        guard try ensure(length) else { throw error(at: start, "the file ends inside a UTF-8 character") }
        for k in 1..<length {
            let continuation = buffer[position + k]
            guard continuation & 0xC0 == 0x80 else { throw error(at: start + k, "byte 0x\(String(continuation, radix: 16)) is not UTF-8 here (expected a continuation byte)") }
            value = value << 6 | UInt32(continuation & 0x3F)
        }
        let shortest: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : length == 4 ? 0x10000 : 0
        guard value >= shortest, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else {
            throw error(at: start, "bytes that are not UTF-8 (an overlong form or a surrogate)")
        }
        guard isXMLCharacter(value) else {
            throw error(at: start, "character U+\(String(value, radix: 16, uppercase: true)), which XML does not allow")
        }
        position += length
        return value
    }

    /// `&name;` or `&#N;` or `&#xH;`: the character it stands for.
    private func reference() throws -> UInt32 {
        let start = byteOffset
        position += 1
        var name: [UInt8] = []
        while true {
            guard try ensure(1) else { throw error(at: start, "the file ends inside an entity reference") }
            let byte = buffer[position]
            position += 1
            if byte == UInt8(ascii: ";") { break }
            name.append(byte)
            guard name.count <= 32 else { throw error(at: start, "an entity reference without its ';'") }
        }
        let text = String(decoding: name, as: UTF8.self)
        switch text {
        case "lt": return 0x3C
        case "gt": return 0x3E
        case "amp": return 0x26
        case "quot": return 0x22
        case "apos": return 0x27
        default: break
        }
        var value: UInt32?
        if text.hasPrefix("#x") {
            value = UInt32(text.dropFirst(2), radix: 16)
        } else if text.hasPrefix("#") {
            value = UInt32(text.dropFirst(), radix: 10)
        } else {
            throw error(at: start, "unknown entity &\(text); (XML defines only lt, gt, amp, quot and apos)")
        }
        guard let value, isXMLCharacter(value), !(0xD800...0xDFFF).contains(value) else {
            throw error(at: start, "&\(text); is not a character XML allows")
        }
        return value
    }

    // MARK: - Markup

    /// A tag, comment, CDATA section, processing instruction or DOCTYPE; returns a page when
    /// this closed one.
    private func markup() throws -> WikiPage? {
        let start = byteOffset
        if try starts(with: "<!--") {
            try skip(past: "-->", what: "comment", from: start)
            return nil
        }
        if try starts(with: "<![CDATA[") {
            position += 9
            let content = try bytes(upTo: "]]>", what: "CDATA section", from: start)
            if capture != nil {
                let decoded = String(decoding: content, as: UTF8.self).unicodeScalars.map(\.value)
                captured.append(contentsOf: decoded)
            }
            return nil
        }
        if try starts(with: "<?") {
            try skip(past: "?>", what: "processing instruction", from: start)
            return nil
        }
        if try starts(with: "<!") {
            try skip(past: ">", what: "declaration", from: start)
            return nil
        }
        position += 1
        let closing = try ensure(1) && buffer[position] == UInt8(ascii: "/")
        if closing { position += 1 }
        let tag = try bytes(upTo: ">", what: "tag", from: start)
        var body = tag[...]
        let selfClosing = !closing && body.last == UInt8(ascii: "/")
        if selfClosing { body = body.dropLast() }
        let nameEnd = body.firstIndex(where: { isXMLSpaceByte($0) }) ?? body.endIndex
        let name = String(decoding: body[..<nameEnd], as: UTF8.self)
        guard !name.isEmpty else { throw error(at: start, "a tag without a name") }
        if closing {
            guard open.last == name else {
                throw error(at: start, "</\(name)> closes <\(open.last ?? "nothing")>: malformed XML")
            }
            open.removeLast()
            return try ended(name)
        }
        if !checkedRoot {
            checkedRoot = true
            let attributes = String(decoding: body[nameEnd...], as: UTF8.self)
            guard let range = attributes.range(of: "xmlns=\""),
                  attributes[range.upperBound...].hasPrefix("http://www.mediawiki.org/xml/export-") else {
                throw error(at: start, "the root element <\(name)> is not in a MediaWiki export namespace (xmlns=\"http://www.mediawiki.org/xml/export-...\")")
            }
        } else if open.isEmpty {
            throw error(at: start, "a second root element <\(name)>")
        }
        open.append(name)
        started(name, at: start)
        if selfClosing {
            open.removeLast()
            return try ended(name)
        }
        return nil
    }

    private func started(_ name: String, at offset: Int) {
        let depth = open.count
        if name == "page", depth == 2 {
            page = WikiPage(title: "", namespace: nil, id: "", text: [], byteOffset: offset)
            sawID = false
            return
        }
        guard page != nil else { return }
        let parent = open[open.count - 2]
        switch name {
        case "title" where parent == "page": capture = .title
        case "ns" where parent == "page": capture = .namespace
        case "id" where parent == "page" && !sawID: capture = .id
        case "text" where parent == "revision" && depth == 4: capture = .text
        default: return
        }
        captured.removeAll(keepingCapacity: true)
    }

    private func ended(_ name: String) throws -> WikiPage? {
        if name == "page", open.count == 1, let finished = page {
            page = nil
            capture = nil
            return finished
        }
        guard let field = capture, page != nil else { return nil }
        var value: String { String(String.UnicodeScalarView(captured.compactMap(Unicode.Scalar.init))) }
        switch (field, name) {
        case (.title, "title"): page?.title = value
        case (.namespace, "ns"): page?.namespace = value
        case (.id, "id"):
            page?.id = value
            sawID = true
        case (.text, "text"): page?.text = captured
        default: return nil
        }
        capture = nil
        return nil
    }

    // MARK: - Bytes

    /// Whether at least `count` bytes are buffered, reading more as needed.
    private func ensure(_ count: Int) throws -> Bool {
        if position + count <= buffer.count { return true }
        if atEnd { return false }
        consumedBefore += position
        buffer.removeFirst(position)
        position = 0
        while buffer.count < count {
            guard let block = try blocks.next() else {
                atEnd = true
                return false
            }
            buffer.append(contentsOf: block)
        }
        return true
    }

    private func starts(with literal: StaticString) throws -> Bool {
        let count = literal.utf8CodeUnitCount
        guard try ensure(count) else { return false }
        return literal.withUTF8Buffer { word in
            for k in 0..<count where buffer[position + k] != word[k] { return false }
            return true
        }
    }

    /// The bytes up to `terminator`, which is consumed too.
    private func bytes(upTo terminator: StaticString, what: String, from start: Int) throws -> [UInt8] {
        let first = terminator.utf8Start.pointee
        var result: [UInt8] = []
        while true {
            guard try ensure(1) else { throw error(at: start, "the file ends inside a \(what)") }
            // Up to the next byte that may start the terminator, in one step.
            let from = position
            let stop = buffer.withUnsafeBufferPointer { bytes in
                var i = from
                while i < bytes.count, bytes[i] != first { i += 1 }
                return i
            }
            result.append(contentsOf: buffer[from..<stop])
            position = stop
            guard stop < buffer.count else { continue }
            if try starts(with: terminator) {
                position += terminator.utf8CodeUnitCount
                return result
            }
            result.append(buffer[position])
            position += 1
        }
    }

    private func skip(past terminator: StaticString, what: String, from start: Int) throws {
        _ = try bytes(upTo: terminator, what: what, from: start)
    }

    private func error(at offset: Int, _ message: String) -> CorpusError {
        CorpusError(code: .format, file: path, message: "byte \(offset) of the XML\(page.map { $0.id.isEmpty ? "" : " (page id \($0.id))" } ?? ""): \(message)")
    }
}

/// How far the decompressing thread has read into the file.
private final class ReadOffset: Sendable {
    let value = Mutex(0)
}

private func isXMLSpace(_ c: UInt32) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
private func isXMLSpaceByte(_ c: UInt8) -> Bool { isXMLSpace(UInt32(c)) }
private func isXMLCharacter(_ c: UInt32) -> Bool {
    c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF)
}
