import Foundation
import LatentCorpus
import LatentLinearAlgebra

/// LSI model folders (design §5):
///
///     model.json   format_version, kind "lsi", parameters, terms, topics, counts, dtype
///     u.npy        terms x topics, C order, <f8 or <f4 (gensim's projection.u)
///     s.npy        topics singular values (gensim's projection.s)
///     vocab.txt    the vocabulary in gensim's save_as_text format, when the model has one
///
/// `numpy.load("model/u.npy")` gives U directly.
extension LSIModel {
    /// The `kind` of its model folders.
    public static let kind = "lsi"
    static let vocabularyFile = "vocab.txt"

    /// Saves the model as a folder at `path`, written under a temporary name and renamed
    /// (see `ModelFolder` for what may be replaced).
    public func save(to path: String, replacing: ReplacePolicy = .sameKind) throws {
        let element: NumPyArray.Element = parameters.precision == .float64 ? .float64 : .float32
        let k = topicCount
        // Uᵀ column-major (topics x terms) is U in C order: the basis storage as it is.
        let u: NumPyArray, s: NumPyArray
        switch storage {
        case .float64(let p):
            u = NumPyArray(shape: [termCount, k], values: p.basis.storage)
            s = NumPyArray(shape: [k], values: p.singularValues)
        case .float32(let p):
            u = NumPyArray(shape: [termCount, k], floats: p.basis.storage)
            s = NumPyArray(shape: [k], floats: p.singularValues)
        }
        let metadata: [String: Any] = [
            "kind": Self.kind,
            "parameters": [
                "topics": parameters.topics, "chunk_size": parameters.chunkSize, "decay": parameters.decay,
                "power_iterations": parameters.powerIterations, "oversampling": parameters.oversampling,
                "algorithm": parameters.algorithm.rawValue, "precision": parameters.precision.rawValue,
                "seed": String(parameters.seed),
            ] as [String: Any],
            "terms": termCount,
            "topics": k,
            "documents_processed": documentsProcessed,
            "chunks_processed": storage.chunks,
            "dtype": element.rawValue,
            "vocabulary": vocabulary == nil ? "" : Self.vocabularyFile,
        ]
        var files: [String: (String) throws -> Void] = [:]
        if let vocabulary { files[Self.vocabularyFile] = { try vocabulary.write(to: $0) } }
        try ModelFolder.write(
            to: path, metadata: metadata,
            arrays: ["u": u, "s": s],
            files: files, replacing: replacing)
    }

    /// Loads a model folder written by `save(to:)`, checking the format version, the kind,
    /// every parameter, the shapes and dtypes of the arrays against `model.json`, that the
    /// values are finite and the singular values ordered, and the vocabulary's size.
    public init(contentsOf path: String) throws {
        let metadata = try ModelFolder.readMetadata(at: path, expectedKind: Self.kind)
        func invalid(_ field: String, _ expected: String) -> CorpusError { ModelFolder.invalid(path, field, expected) }
        let stored = try StoredParameters(metadata, folder: path)
        let precision: Precision = try stored.choice("precision")
        let parameters = LSIParameters(
            topics: try stored.integer("topics"), chunkSize: try stored.integer("chunk_size"), decay: try stored.number("decay"),
            powerIterations: try stored.integer("power_iterations"), oversampling: try stored.integer("oversampling"),
            algorithm: try stored.choice("algorithm"), precision: precision, seed: try stored.seed())
        do {
            try parameters.validate()
        } catch let error as ModelError {
            throw CorpusError(code: .outOfRange, file: stored.file, message: "parameters: " + error.message)
        }
        let terms = try ModelFolder.integer(metadata, "terms", in: path)
        let k = try ModelFolder.integer(metadata, "topics", in: path)
        let documents = try ModelFolder.integer(metadata, "documents_processed", in: path)
        let chunks = try ModelFolder.integer(metadata, "chunks_processed", in: path)
        guard terms >= 0, terms <= Int(Int32.max) else { throw invalid("terms", "0 to \(Int32.max)") }
        guard k >= 0, k <= min(terms, parameters.topics) else {
            throw invalid("topics", "0 to \(min(terms, parameters.topics)) (the topics asked and the terms)")
        }
        guard documents >= 0, chunks >= 0 else { throw invalid("documents_processed", "a count of at least 0") }
        let element: NumPyArray.Element = precision == .float64 ? .float64 : .float32
        guard try ModelFolder.string(metadata, "dtype", in: path) == element.rawValue else {
            throw invalid("dtype", "'\(element.rawValue)' for precision \(precision.rawValue)")
        }

        let u = try ModelFolder.array("u", in: path, shape: [terms, k])
        let s = try ModelFolder.array("s", in: path, shape: [k])
        try ModelFolder.checkArrays([("u", u), ("s", s)], element: element, in: path, expected: "finite values") { $0.isFinite }
        for (index, value) in s.values.enumerated() where value < 0 || (index > 0 && value > s.values[index - 1]) {
            throw CorpusError(code: .outOfRange, file: path + "/s.npy",
                              message: "singular value #\(index) is \(value); expected non-negative values, largest first")
        }
        let vocabulary = try ModelFolder.vocabulary(in: path, metadata: metadata, file: Self.vocabularyFile, terms: terms)

        let storage: Storage
        switch precision {
        case .float64:
            storage = .float64(LSIProjection(basis: Matrix(rows: k, columns: terms, columnMajor: u.values),
                                             singularValues: s.values, chunks: chunks, documents: documents))
        case .float32:
            storage = .float32(LSIProjection(basis: Matrix(rows: k, columns: terms, columnMajor: u.values.map { Float($0) }),
                                             singularValues: s.values.map { Float($0) }, chunks: chunks, documents: documents))
        }
        self.init(parameters: parameters, termCount: terms, vocabulary: vocabulary, storage: storage)
    }
}
