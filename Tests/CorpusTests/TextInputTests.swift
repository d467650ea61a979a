import Foundation
@testable import LatentCorpus
import Logging
import Synchronization
import TestSupport
import Testing

/// Text sources: which files a folder holds and in what order, encodings, and what is said
/// about text that is not UTF-8.
@Suite("text input: folders, order, encodings")
struct TextInputTests {
    static func texts(_ source: TextSource, diagnostics: TextDiagnostics? = nil) throws -> [String] {
        var texts: [String] = []
        try source.forEachText(diagnostics: diagnostics) { texts.append($0) }
        return texts
    }

    /// A logger whose lines are kept.
    static func capturingLogger() -> (Logger, LogLines) {
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in CapturingHandler(lines: lines) }
        return (logger, lines)
    }

    @Test("natural order: numbers compare as numbers, the rest by code points")
    func naturalOrder() {
        let names = ["10.txt", "2.txt", "1.txt", "b.txt", "a10b.txt", "a2b.txt", "02.txt", "B.txt", "a.txt"]
        #expect(names.sorted(by: naturalLess) == ["1.txt", "2.txt", "02.txt", "10.txt", "B.txt", "a.txt", "a2b.txt", "a10b.txt", "b.txt"])
        #expect(["x/10.txt", "x/9.txt", "x.txt", "w/1.txt"].sorted(by: naturalPathLess) == ["w/1.txt", "x/9.txt", "x/10.txt", "x.txt"])
    }

    @Test("a folder: .txt in any case, recursively, hidden entries skipped, in natural order")
    func folder() throws {
        let dir = try TemporaryDirectory()
        for (name, text) in [("docs/10.txt", "ten"), ("docs/2.txt", "two"), ("docs/1.TXT", "one"), ("docs/sub/3.Txt", "three"),
                             ("docs/notes.md", "not a document"), ("docs/.hidden.txt", "hidden"), ("docs/.git/x.txt", "hidden too")] {
            try dir.write(name, text)
        }
        let source = TextSource.folder(path: dir.file("docs"))
        #expect(try source.documentFiles() == ["1.TXT", "2.txt", "10.txt", "sub/3.Txt"])
        #expect(try Self.texts(source) == ["one", "two", "ten", "three"])
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: false)
        #expect(try TextSource.folder(path: dir.file("empty")).documentFiles() == [])
    }

    @Test("UTF-16 with a byte-order mark is read, in lines and in folders, both byte orders")
    func utf16() throws {
        let dir = try TemporaryDirectory()
        let text = "Café naïve\n東京 😀 résumé\r\nlast"
        for bigEndian in [false, true] {
            var bytes: [UInt8] = bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]
            for unit in text.utf16 {
                bytes += bigEndian ? [UInt8(unit >> 8), UInt8(unit & 0xFF)] : [UInt8(unit & 0xFF), UInt8(unit >> 8)]
            }
            let name = bigEndian ? "be" : "le"
            try dir.write(name + ".txt", bytes: bytes)
            try dir.write("folder-" + name + "/doc.txt", bytes: bytes)
            let (logger, lines) = Self.capturingLogger()
            let diagnostics = TextDiagnostics(logger: logger)
            #expect(try Self.texts(.lines(path: dir.file(name + ".txt")), diagnostics: diagnostics)
                    == ["Café naïve", "東京 😀 résumé", "last"])
            #expect(try Self.texts(.folder(path: dir.file("folder-" + name)), diagnostics: diagnostics) == [text])
            #expect(lines.all.contains { $0.contains("UTF-16 \(bigEndian ? "big" : "little")-endian text") })
        }
        // A UTF-8 byte-order mark is dropped.
        try dir.write("bom.txt", bytes: [0xEF, 0xBB, 0xBF] + Array("first\nsecond".utf8))
        #expect(try Self.texts(.lines(path: dir.file("bom.txt"))) == ["first", "second"])
    }

    @Test("bytes that are not UTF-8 are skipped as Python's errors='ignore' does, and the first is reported with its line and offset")
    func invalidUTF8() throws {
        let dir = try TemporaryDirectory()
        // "caf\xE9s" (Latin-1 é), a truncated 3-byte sequence, a surrogate encoded in UTF-8, an overlong NUL.
        let bytes = Array("ok line\n".utf8) + Array("caf".utf8) + [0xE9] + Array("s and ".utf8) + [0xE2, 0x82]
            + Array("x ".utf8) + [0xED, 0xA0, 0x80] + Array("y ".utf8) + [0xC0, 0x80] + Array("z €\n".utf8)
        try dir.write("latin.txt", bytes: bytes)
        let (logger, lines) = Self.capturingLogger()
        let diagnostics = TextDiagnostics(logger: logger)
        let texts = try Self.texts(.lines(path: dir.file("latin.txt")), diagnostics: diagnostics)
        #expect(texts == ["ok line", "cafs and x y z €"])
        _ = try Self.texts(.lines(path: dir.file("latin.txt")), diagnostics: diagnostics)
        let warnings = lines.all
        #expect(warnings == ["\(dir.file("latin.txt")):2 (byte 11): not valid UTF-8; bytes that are not UTF-8 are skipped, as gensim does (said once per file)"],
                "\(warnings)")
    }

    @Test("the document files table round-trips names with tabs, newlines and backslashes")
    func documentFiles() throws {
        let dir = try TemporaryDirectory()
        let names = ["a.txt", "sub/b c.txt", "tab\there.txt", "new\nline.txt", "back\\slash.txt"]
        try DocumentFiles.write(names, to: dir.file("d.files.tsv"))
        #expect(try dir.text("d.files.tsv").hasPrefix("document\tfile\n0\ta.txt\n1\tsub/b c.txt\n2\ttab\\there.txt\n"))
        #expect(try DocumentFiles.read(dir.file("d.files.tsv")) == names)
        try dir.write("bad.files.tsv", "document\tfile\n0\ta.txt\n2\tb.txt\n")
        #expect(throws: CorpusError.self) { try DocumentFiles.read(dir.file("bad.files.tsv")) }
        #expect(DocumentFiles.companion(of: "x/docs.tfidf.mm.bz2") == "x/docs.tfidf.files.tsv")
    }
}

/// Log messages kept by `CapturingHandler`.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

/// Keeps log messages (without timestamps).
struct CapturingHandler: LogHandler {
    let lines: LogLines
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.append(event.message.description)
    }
}
