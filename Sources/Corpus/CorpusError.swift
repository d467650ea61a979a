/// An error in a corpus, vocabulary or model file, or in a document handed to the corpus
/// layer: it names the file and line (or the field) and says what was expected, so a user
/// sees `wiki.mm:1042: expected 3 fields, found 2`.
public struct CorpusError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The file could not be opened, read or written.
        public static let io = Code("i/o")
        /// The file is not in the expected format (header, magic, version).
        public static let format = Code("format")
        /// A line or record could not be parsed.
        public static let syntax = Code("syntax")
        /// A value is out of its allowed range (ids, counts, NaN or infinite weights).
        public static let outOfRange = Code("out of range")
        /// The data disagrees with what the file declares (counts, checksum, order).
        public static let inconsistent = Code("inconsistent")
        /// An output was not written: it would replace a folder, a device or pipe, or one of
        /// the command's inputs. Never allowed.
        public static let refused = Code("refused")
        /// An output was not written: a file or model of another kind is at its path.
        /// Allowed by `ReplacePolicy.anyKind` (the command line's `--force`).
        public static let exists = Code("exists")
    }

    public let code: Code
    /// The file, or a description of the source when there is no file.
    public let file: String
    /// The 1-based line, or the record, where there is one.
    public let line: Int?
    public let message: String
    /// The error underneath, when there is one (a Foundation or system error).
    public let cause: (any Error)?

    public init(code: Code, file: String, line: Int? = nil, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.file = file
        self.line = line
        self.message = message
        self.cause = cause
    }

    /// Equal when they say the same thing about the same place (causes are not compared).
    public static func == (lhs: CorpusError, rhs: CorpusError) -> Bool {
        lhs.code == rhs.code && lhs.file == rhs.file && lhs.line == rhs.line && lhs.message == rhs.message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
