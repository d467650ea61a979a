/// Corpus files chosen by their name: `.lbc` is Latent's binary format, anything else
/// (`.mm`, `.mm.gz`, `.mm.bz2`) Matrix Market.
public enum CorpusFile {
    public static let binaryExtension = ".lbc"

    public static func isBinary(_ path: String) -> Bool { path.hasSuffix(binaryExtension) }

    /// Opens the corpus at `path`.
    public static func open(_ path: String) throws -> any Corpus {
        isBinary(path) ? try BinaryCorpus(path: path) : try MatrixMarketCorpus(path: path)
    }

    /// Writes `corpus` to `path` in the format its name asks for.
    @discardableResult
    public static func write(_ corpus: some Corpus, to path: String, termCount: Int? = nil, float32: Bool = false) throws -> CorpusStatistics {
        if isBinary(path) {
            return try BinaryCorpus.write(corpus, to: path, weightSize: float32 ? 4 : 8, termCount: termCount)
        }
        return try MatrixMarketWriter.write(corpus, to: path, termCount: termCount)
    }
}
