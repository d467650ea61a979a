import Foundation

/// Where raw text documents come from: a file with one document per line, a folder of
/// `.txt` files (one document each; see `FolderListing` for which files and in what order),
/// or JSON lines with the text in a field. Each document is streamed; only one is in memory
/// at a time.
///
/// Text is UTF-8; UTF-16 files are recognised by their byte-order mark and read as such.
/// Bytes that are not UTF-8 are skipped, as gensim's tokenizer skips them, and reported to
/// the `TextDiagnostics` given (once per file, with the line and byte offset).
public enum TextSource: Sendable {
    case lines(path: String)
    case folder(path: String)
    case jsonLines(path: String, field: String)

    /// A folder for a directory, JSON lines for `.jsonl`/`.json` files (field `text`), lines
    /// otherwise.
    public static func guess(path: String, field: String = "text") -> TextSource {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return .folder(path: path)
        }
        let lowered = path.lowercased()
        if [".jsonl", ".json", ".jsonl.gz", ".jsonl.bz2"].contains(where: lowered.hasSuffix) {
            return .jsonLines(path: path, field: field)
        }
        return .lines(path: path)
    }

    /// Calls `body` with the text of each document in order.
    public func forEachText(diagnostics: TextDiagnostics? = nil, _ body: (String) throws -> Void) throws {
        let cursor = try TextCursor(self, diagnostics: diagnostics)
        while let text = try cursor.next() { try body(text) }
    }

    public var path: String {
        switch self {
        case .lines(let path), .folder(let path), .jsonLines(let path, _): path
        }
    }

    /// For a folder source, the file of each document, relative to the folder; nil for the
    /// others.
    public func documentFiles() throws -> [String]? {
        guard case .folder(let path) = self else { return nil }
        return try FolderListing.textFiles(in: path)
    }

    /// What a source with no documents was looked through for, for warnings.
    public var whatWasLookedFor: String {
        switch self {
        case .lines: "lines (one document per line)"
        case .folder: ".txt files (any case) in the folder and its subfolders"
        case .jsonLines(_, let field): "JSON lines with a text field '\(field)'"
        }
    }
}

/// One pass over a `TextSource`.
final class TextCursor {
    private let source: TextSource
    private let diagnostics: TextDiagnostics?
    private let lines: LineReader?
    private var names: [String] = []
    private var position = 0

    init(_ source: TextSource, diagnostics: TextDiagnostics?) throws {
        self.source = source
        self.diagnostics = diagnostics
        switch source {
        case .lines(let path), .jsonLines(let path, _):
            let bytes = try PeekedReader(try ByteSource(path: path), count: 3)
            switch TextEncoding.detect(bytes.head).0 {
            case .utf8:
                lines = LineReader(source: bytes)
            case .utf16(let bigEndian):
                diagnostics?.utf16(file: path, bigEndian: bigEndian)
                lines = LineReader(source: UTF16ToUTF8Reader(source: bytes, bigEndian: bigEndian))
            }
        case .folder(let path):
            lines = nil
            names = try FolderListing.textFiles(in: path)
        }
    }

    /// The next line as text: a leading byte-order mark dropped, bytes that are not UTF-8
    /// skipped (and reported).
    private func nextLineText(_ lines: LineReader, path: String) throws -> String? {
        guard var line = try lines.nextLine() else { return nil }
        if lines.lineNumber == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) {
            line = UnsafeRawBufferPointer(rebasing: line[3...])
        }
        let (text, invalid) = decodeUTF8DroppingInvalid(line)
        if let invalid { diagnostics?.invalidUTF8(file: path, line: lines.lineNumber, offset: lines.lineOffset + invalid) }
        return text
    }

    /// The next document's text, nil at the end.
    func next() throws -> String? {
        switch source {
        case .lines(let path):
            guard let lines else { return nil }
            return try nextLineText(lines, path: path)
        case .folder(let path):
            guard position < names.count else { return nil }
            defer { position += 1 }
            return try readDocument(path + "/" + names[position])
        case .jsonLines(let path, let field):
            guard let lines else { return nil }
            while let line = try nextLineText(lines, path: path) {
                if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                let object: Any
                do {
                    object = try JSONSerialization.jsonObject(with: Data(line.utf8))
                } catch {
                    throw CorpusError(code: .syntax, file: path, line: lines.lineNumber, message: "expected a JSON object")
                }
                guard let dictionary = object as? [String: Any], let text = dictionary[field] as? String else {
                    throw CorpusError(code: .syntax, file: path, line: lines.lineNumber,
                                      message: "expected a JSON object with a string field '\(field)'")
                }
                return text
            }
            return nil
        }
    }

    /// A whole file as one document, by its encoding.
    private func readDocument(_ file: String) throws -> String {
        let bytes = try readWholeFile(path: file)
        let (encoding, mark) = TextEncoding.detect(bytes)
        switch encoding {
        case .utf8:
            let (text, invalid) = bytes.withUnsafeBytes { decodeUTF8DroppingInvalid(UnsafeRawBufferPointer(rebasing: $0[mark...])) }
            if let invalid { diagnostics?.invalidUTF8(file: file, line: nil, offset: mark + invalid) }
            return text
        case .utf16(let bigEndian):
            diagnostics?.utf16(file: file, bigEndian: bigEndian)
            var units: [UInt16] = []
            units.reserveCapacity(bytes.count / 2)
            for index in stride(from: mark, to: bytes.count - 1, by: 2) {
                let (high, low) = bigEndian ? (bytes[index], bytes[index + 1]) : (bytes[index + 1], bytes[index])
                units.append(UInt16(high) << 8 | UInt16(low))
            }
            return String(decoding: units, as: UTF16.self)
        }
    }
}

/// Raw text turned into bags of words over a fixed vocabulary, as a streamed corpus (gensim's
/// `TextCorpus` once its dictionary is built). Texts are read and tokenized on each pass.
public struct TextCorpus: Corpus {
    public let source: TextSource
    public let tokenizer: Tokenizer
    public let vocabulary: Vocabulary
    /// Where decoding problems and bagging counts go; nil for nowhere.
    public let diagnostics: TextDiagnostics?

    public init(source: TextSource, tokenizer: Tokenizer, vocabulary: Vocabulary, diagnostics: TextDiagnostics? = nil) {
        self.source = source
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
        self.diagnostics = diagnostics
    }

    /// Builds the vocabulary in one pass over `source` (gensim's `Dictionary(texts)`).
    public static func buildVocabulary(source: TextSource, tokenizer: Tokenizer,
                                       diagnostics: TextDiagnostics? = nil) throws -> Vocabulary {
        var vocabulary = Vocabulary()
        try vocabulary.add(source: source, tokenizer: tokenizer, diagnostics: diagnostics)
        return vocabulary
    }

    public var documentCount: Int? { nil }
    public var termCount: Int? { vocabulary.idBound }
    public var nonZeroCount: Int? { nil }

    public func makeReader() throws -> Reader {
        Reader(corpus: self, cursor: try TextCursor(source, diagnostics: diagnostics))
    }

    public struct Reader: DocumentReader {
        let corpus: TextCorpus
        let cursor: TextCursor

        public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            guard let text = try cursor.next() else { return false }
            let tokens = corpus.tokenizer.tokens(text)
            let bag = corpus.vocabulary.bagOfWords(tokens)
            chunk.append(bag)
            corpus.diagnostics?.bagged(tokens: tokens.count, known: Int(bag.weights.reduce(0, +)))
            return true
        }
    }
}
