import Logging

/// Corpus files chosen by their name: `.lbc` is Latent's binary format, anything else
/// (`.mm`, `.mm.gz`, `.mm.bz2`) Matrix Market when reading. Outputs must be named with one
/// of those extensions.
public enum CorpusFile {
    public static let binaryExtension = ".lbc"
    /// The names an output corpus may have.
    public static let outputExtensions = [".mm", ".mm.gz", ".mm.bz2", binaryExtension]

    public static func isBinary(_ path: String) -> Bool { path.hasSuffix(binaryExtension) }

    /// Opens the corpus at `path`.
    public static func open(_ path: String) throws -> any Corpus {
        isBinary(path) ? try BinaryCorpus(path: path) : try MatrixMarketCorpus(path: path)
    }

    /// Throws unless a corpus may be written at `path`: a known extension, and nothing there
    /// that may not be replaced (see `OutputCheck.file`), the Matrix Market index included.
    public static func checkOutput(_ path: String, replacing: ReplacePolicy = .sameKind, inputs: [String] = []) throws {
        guard outputExtensions.contains(where: { path.hasSuffix($0) }) else {
            throw CorpusError(code: .refused, file: path, message:
                "unknown corpus extension; expected one of \(outputExtensions.joined(separator: ", "))")
        }
        if isBinary(path) {
            try OutputCheck.file(path, kind: .binaryCorpus, replacing: replacing, inputs: inputs)
        } else {
            try OutputCheck.file(path, kind: .matrixMarket, replacing: replacing, inputs: inputs)
            try OutputCheck.file(path + ".index", kind: .matrixMarketIndex, replacing: replacing, inputs: inputs)
        }
    }

    /// Writes `corpus` to `path` in the format its name asks for.
    /// - Parameter progress: called with the number of documents written so far.
    @discardableResult
    public static func write(_ corpus: some Corpus, to path: String, termCount: Int? = nil, float32: Bool = false,
                             replacing: ReplacePolicy = .sameKind, logger: Logger? = nil,
                             progress: ((Int) -> Void)? = nil, group: OutputGroup? = nil) throws -> CorpusStatistics {
        try checkOutput(path, replacing: replacing)
        if isBinary(path) {
            return try BinaryCorpus.write(corpus, to: path, weightSize: float32 ? 4 : 8, termCount: termCount,
                                          replacing: replacing, progress: progress, group: group)
        }
        return try MatrixMarketWriter.write(corpus, to: path, termCount: termCount, replacing: replacing, logger: logger,
                                            progress: progress, group: group)
    }
}
