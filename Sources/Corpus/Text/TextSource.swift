import Foundation

/// Where raw text documents come from: a file with one document per line, a folder of
/// `.txt` files (one document each, in name order), or JSON lines with the text in a field.
/// Each document is streamed; only one is in memory at a time.
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
        if path.hasSuffix(".jsonl") || path.hasSuffix(".json") || path.hasSuffix(".jsonl.gz") {
            return .jsonLines(path: path, field: field)
        }
        return .lines(path: path)
    }

    /// Calls `body` with the text of each document in order.
    public func forEachText(_ body: (String) throws -> Void) throws {
        let cursor = try TextCursor(self)
        while let text = try cursor.next() { try body(text) }
    }

    public var path: String {
        switch self {
        case .lines(let path), .folder(let path), .jsonLines(let path, _): path
        }
    }
}

/// One pass over a `TextSource`.
final class TextCursor {
    private let source: TextSource
    private let lines: LineReader?
    private var names: [String] = []
    private var position = 0

    init(_ source: TextSource) throws {
        self.source = source
        switch source {
        case .lines(let path), .jsonLines(let path, _):
            lines = LineReader(source: try ByteSource(path: path))
        case .folder(let path):
            lines = nil
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
                    .filter { $0.hasSuffix(".txt") }.sorted(by: codePointLess)
            } catch {
                throw CorpusError(code: .io, file: path, message: "cannot list the folder: \(error.localizedDescription)")
            }
        }
    }

    /// The next document's text, nil at the end.
    func next() throws -> String? {
        switch source {
        case .lines:
            guard let line = try lines?.nextLine() else { return nil }
            return String(decoding: line, as: UTF8.self)
        case .folder(let path):
            guard position < names.count else { return nil }
            defer { position += 1 }
            return String(decoding: try readWholeFile(path: path + "/" + names[position]), as: UTF8.self)
        case .jsonLines(let path, let field):
            guard let lines else { return nil }
            while let line = try lines.nextLine() {
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                let object: Any
                do {
                    object = try JSONSerialization.jsonObject(with: Data(line))
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
}

/// Raw text turned into bags of words over a fixed vocabulary, as a streamed corpus (gensim's
/// `TextCorpus` once its dictionary is built). Texts are read and tokenized on each pass.
public struct TextCorpus: Corpus {
    public let source: TextSource
    public let tokenizer: Tokenizer
    public let vocabulary: Vocabulary

    public init(source: TextSource, tokenizer: Tokenizer, vocabulary: Vocabulary) {
        self.source = source
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
    }

    /// Builds the vocabulary in one pass over `source` (gensim's `Dictionary(texts)`).
    public static func buildVocabulary(source: TextSource, tokenizer: Tokenizer) throws -> Vocabulary {
        var vocabulary = Vocabulary()
        try source.forEachText { text in _ = vocabulary.bagOfWords(tokenizer.tokens(text), addingNew: true) }
        return vocabulary
    }

    public var documentCount: Int? { nil }
    public var termCount: Int? { vocabulary.idBound }
    public var nonZeroCount: Int? { nil }

    public func makeReader() throws -> Reader {
        Reader(corpus: self, cursor: try TextCursor(source))
    }

    public struct Reader: DocumentReader {
        let corpus: TextCorpus
        let cursor: TextCursor

        public mutating func appendNext(to chunk: inout SparseChunk) throws -> Bool {
            guard let text = try cursor.next() else { return false }
            chunk.append(corpus.vocabulary.bagOfWords(corpus.tokenizer.tokens(text)))
            return true
        }
    }
}
