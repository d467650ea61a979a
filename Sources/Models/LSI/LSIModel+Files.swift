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
        let u: [Double], s: [Double]
        switch storage {
        case .float64(let p): (u, s) = (p.basis.storage, p.singularValues)
        case .float32(let p): (u, s) = (p.basis.storage.map(Double.init), p.singularValues.map(Double.init))
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
            arrays: ["u": NumPyArray(shape: [termCount, k], element: element, values: u),
                     "s": NumPyArray(shape: [k], element: element, values: s)],
            files: files, replacing: replacing)
    }

    /// Loads a model folder written by `save(to:)`, checking the format version, the kind,
    /// every parameter, the shapes and dtypes of the arrays against `model.json`, that the
    /// values are finite and the singular values ordered, and the vocabulary's size.
    public init(contentsOf path: String) throws {
        let metadata = try ModelFolder.readMetadata(at: path, expectedKind: Self.kind)
        let json = path + "/model.json"
        func invalid(_ field: String, _ expected: String) -> CorpusError {
            CorpusError(code: .format, file: json, message: "field '\(field)': expected \(expected)")
        }
        guard let stored = metadata["parameters"] as? [String: Any] else { throw invalid("parameters", "an object") }
        func integer(_ name: String) throws -> Int {
            guard let value = stored[name] as? Int else { throw invalid("parameters." + name, "an integer") }
            return value
        }
        guard let algorithm = (stored["algorithm"] as? String).flatMap(LSIAlgorithm.init(rawValue:)) else {
            throw invalid("parameters.algorithm", "one of " + LSIAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let precision = (stored["precision"] as? String).flatMap(Precision.init(rawValue:)) else {
            throw invalid("parameters.precision", "one of " + Precision.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let seed = (stored["seed"] as? String).flatMap(UInt64.init) else {
            throw invalid("parameters.seed", "a string holding an unsigned 64-bit integer")
        }
        guard let decay = stored["decay"] as? Double ?? (stored["decay"] as? Int).map(Double.init) else {
            throw invalid("parameters.decay", "a number")
        }
        let parameters = LSIParameters(
            topics: try integer("topics"), chunkSize: try integer("chunk_size"), decay: decay,
            powerIterations: try integer("power_iterations"), oversampling: try integer("oversampling"),
            algorithm: algorithm, precision: precision, seed: seed)
        do {
            try parameters.validate()
        } catch let error as ModelError {
            throw CorpusError(code: .outOfRange, file: json, message: "parameters: " + error.message)
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
        for (name, array) in [("u", u), ("s", s)] {
            guard array.element == element else {
                throw CorpusError(code: .inconsistent, file: path + "/\(name).npy",
                                  message: "dtype \(array.element.rawValue); model.json says \(element.rawValue)")
            }
            if let index = array.values.firstIndex(where: { !$0.isFinite }) {
                throw CorpusError(code: .outOfRange, file: path + "/\(name).npy",
                                  message: "value #\(index) is \(array.values[index]); expected finite values")
            }
        }
        for (index, value) in s.values.enumerated() where value < 0 || (index > 0 && value > s.values[index - 1]) {
            throw CorpusError(code: .outOfRange, file: path + "/s.npy",
                              message: "singular value #\(index) is \(value); expected non-negative values, largest first")
        }

        var vocabulary: Vocabulary?
        let vocabularyName = try ModelFolder.string(metadata, "vocabulary", in: path)
        if !vocabularyName.isEmpty {
            guard vocabularyName == Self.vocabularyFile else { throw invalid("vocabulary", "'\(Self.vocabularyFile)' or ''") }
            let loaded = try Vocabulary(contentsOf: path + "/" + vocabularyName)
            guard loaded.idBound <= terms else {
                throw CorpusError(code: .inconsistent, file: path + "/" + vocabularyName,
                                  message: "term ids reach \(loaded.idBound - 1); the model has \(terms) terms")
            }
            vocabulary = loaded
        }

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
