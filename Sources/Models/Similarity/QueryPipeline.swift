import Foundation
import LatentCorpus

/// Turns a text or a bag of words into a query vector for an index, through the vocabulary,
/// TF-IDF model and topic model the index was built through (its `index.json`): tokens →
/// bag of words → TF-IDF weights → topic coordinates (LSI) or distribution (LDA).
///
/// Each file is looked for at its path from the index folder, then at its absolute path, and
/// must have the fingerprint recorded when the index was built; a file given instead
/// (`IndexSources`) must match it too, so a query never goes through another model.
public struct QueryPipeline: Sendable {
    public enum TopicModel: Sendable {
        case lsi(LSIModel)
        case lda(LDAModel)
    }

    public let vocabulary: Vocabulary?
    public let tokenizer: Tokenizer
    public let tfidf: TFIDFModel?
    public let model: TopicModel?

    /// Loads what `index` was built through; `sources` may say where a file is now.
    /// - Throws: `CorpusError` or `ModelError` for a file that cannot be found or read, or
    ///   that is not the one the index was built with.
    public init(index: SimilarityIndex, sources: IndexSources = IndexSources(), tokenizer: Tokenizer = Tokenizer()) throws {
        let pipeline = index.manifest.pipeline
        func locate(_ reference: IndexManifest.Reference?, given: String?, what: String) throws -> String? {
            if let given {
                guard let reference else {
                    throw ModelError(code: .invalidParameter, message:
                        "\(given): the index \(index.path) was built without a \(what); a query cannot go through one")
                }
                let fingerprint = try Fingerprint.of(given)
                guard fingerprint == reference.fingerprint else {
                    throw ModelError(code: .invalidParameter, message:
                        "\(given) is not the \(what) the index \(index.path) was built with (\(reference.path)); its fingerprint differs")
                }
                return given
            }
            guard let reference else { return nil }
            let candidates = [index.path + "/" + reference.relative, reference.path]
            for candidate in candidates where FileManager.default.fileExists(atPath: candidate) {
                if (try? Fingerprint.of(candidate)) == reference.fingerprint { return candidate }
            }
            throw ModelError(code: .invalidParameter, message:
                "the \(what) the index \(index.path) was built with is neither at \(candidates[0]) nor at \(reference.path) (or was changed since); give its path")
        }
        vocabulary = try locate(pipeline.vocabulary, given: sources.vocabulary, what: "vocabulary").map { try Vocabulary(contentsOf: $0) }
        tfidf = try locate(pipeline.tfidf, given: sources.tfidf, what: "TF-IDF model").map { try TFIDFModel(contentsOf: $0) }
        if let path = try locate(pipeline.model, given: sources.model, what: "topic model") {
            model = pipeline.model?.kind == "lda" ? .lda(try LDAModel(contentsOf: path)) : .lsi(try LSIModel(contentsOf: path))
        } else {
            model = nil
        }
        self.tokenizer = tokenizer
    }

    /// The query vector of a text: its tokens that the vocabulary knows, as a bag of words,
    /// then as `vector(bagOfWords:)`.
    /// - Throws: `ModelError` when the index has no vocabulary to read text with.
    public func vector(text: String) throws -> (vector: SparseDocument, known: Int, unknown: Int) {
        guard let vocabulary else {
            throw ModelError(code: .invalidParameter, message:
                "the index was built without a vocabulary, so a text cannot be a query; build it with --vocab, or query by document or vector")
        }
        let tokens = tokenizer.tokens(text)
        let bag = vocabulary.bagOfWords(tokens)
        let known = bag.weights.reduce(0) { $0 + Int($1) }
        return (try vector(bagOfWords: bag), known, tokens.count - known)
    }

    /// A bag of words through the TF-IDF model and the topic model, as the index's documents went.
    public func vector(bagOfWords document: SparseDocument) throws -> SparseDocument {
        var vector = document
        if let tfidf { vector = tfidf.transform(vector) }
        switch model {
        case .lsi(let lsi):
            let coordinates = try lsi.project(vector)
            return SparseDocument(uncheckedTermIDs: coordinates.indices.map { Int32($0) }, weights: coordinates)
        case .lda(let lda):
            let topics = try lda.documentTopics(vector)
            return SparseDocument(uncheckedTermIDs: topics.map { Int32($0.topic) }, weights: topics.map(\.probability))
        case nil:
            return vector
        }
    }

    /// The vectors of a corpus given in the form the index's documents were given.
    public func vectors<C: Corpus>(_ corpus: C) throws -> [SparseDocument] {
        var vectors: [SparseDocument] = []
        try corpus.forEachDocument { vectors.append(try vector(bagOfWords: $0)) }
        return vectors
    }
}

/// A cheap check that a file or folder is the one recorded: FNV-1a over each file's name,
/// size and first and last 64 KiB (a model's arrays differ there when the model differs).
enum Fingerprint {
    static func of(_ path: String) throws -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw CorpusError(code: .io, file: path, message: "no such file or folder")
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) {
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        func file(_ file: String, name: String) throws {
            guard let handle = FileHandle(forReadingAtPath: file) else {
                throw CorpusError(code: .io, file: file, message: "cannot open")
            }
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            mix(Array(name.utf8))
            mix(withUnsafeBytes(of: size.littleEndian) { Array($0) })
            try handle.seek(toOffset: 0)
            mix(try handle.read(upToCount: 65536) ?? Data())
            if size > 65536 {
                try handle.seek(toOffset: max(65536, size - 65536))
                mix(try handle.read(upToCount: 65536) ?? Data())
            }
        }
        if isFolder.boolValue {
            let entries = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
            for entry in entries where !entry.contains(".tmp-") { try file(path + "/" + entry, name: entry) }
        } else {
            try file(path, name: "")
        }
        return String(hash, radix: 16)
    }

    /// `target` (absolute) as a path from `folder`.
    static func relativePath(from folder: String, to target: String) -> String {
        let base = URL(fileURLWithPath: folder).standardizedFileURL.pathComponents
        let parts = URL(fileURLWithPath: target).standardizedFileURL.pathComponents
        var common = 0
        while common < min(base.count, parts.count), base[common] == parts[common] { common += 1 }
        let up = Array(repeating: "..", count: base.count - common)
        return (up + parts[common...]).joined(separator: "/")
    }
}
