import Foundation
import LatentCorpus
import LatentLinearAlgebra

/// LDA model folders (design §5):
///
///     model.json   format_version, kind "lda", parameters, terms, topics, counts, dtype
///     lambda.npy   topics x terms, C order, <f4 or <f8: the topics' variational parameters
///     alpha.npy    topics
///     eta.npy      terms, or topics x terms
///     vocab.txt    the vocabulary in gensim's save_as_text format, when the model has one
///
/// `numpy.load("model/lambda.npy")` is gensim's `model.state.get_lambda()`;
/// normalising its rows gives `get_topics()`.
extension LDAModel {
    static let vocabularyFile = "vocab.txt"

    /// Saves the model as a folder at `path`, written under a temporary name and renamed
    /// (see `ModelFolder` for what may be replaced).
    public func save(to path: String, replacing: ReplacePolicy = .sameKind) throws {
        let element: NumPyArray.Element = parameters.precision == .float64 ? .float64 : .float32
        let k = topicCount, v = termCount
        // λ in C order (topics x terms) is the transpose of the term-major layout.
        let rows = lambda.transposed().storage
        let p = parameters
        let metadata: [String: Any] = [
            "kind": Self.kind,
            "parameters": [
                "topics": p.topics, "chunk_size": p.chunkSize, "passes": p.passes, "update_every": p.updateEvery,
                "alpha": p.alpha.name, "eta": p.eta.name,
                "decay": p.decay, "offset": p.offset, "iterations": p.iterations, "gamma_threshold": p.gammaThreshold,
                "minimum_probability": p.minimumProbability, "eval_every": p.evalEvery, "seed": String(p.seed),
                "precision": p.precision.rawValue,
            ] as [String: Any],
            "terms": v,
            "topics": k,
            "documents_processed": documentsProcessed,
            "updates": updatesDone,
            "gamma_draws": gammaDraws,
            "dtype": element.rawValue,
            "eta_shape": etaPerTopic ? "topics x terms" : "terms",
            "vocabulary": vocabulary == nil ? "" : Self.vocabularyFile,
        ]
        var files: [String: (String) throws -> Void] = [:]
        if let vocabulary { files[Self.vocabularyFile] = { try vocabulary.write(to: $0) } }
        try ModelFolder.write(
            to: path, metadata: metadata,
            arrays: ["lambda": NumPyArray(shape: [k, v], element: element, values: rows),
                     "alpha": NumPyArray(shape: [k], element: element, values: alpha),
                     "eta": NumPyArray(shape: etaPerTopic ? [k, v] : [v], element: element, values: eta)],
            files: files, replacing: replacing)
    }

    var gammaDraws: Int {
        switch storage {
        case .float64(let s): s.draws
        case .float32(let s): s.draws
        }
    }

    /// Loads a model folder written by `save(to:)` (or by any program that writes the same
    /// files), checking the format version, the kind, every parameter, the arrays' shapes
    /// and dtypes against `model.json`, that λ, α and η are positive and finite, and the
    /// vocabulary's size.
    public init(contentsOf path: String) throws {
        let metadata = try ModelFolder.readMetadata(at: path, expectedKind: Self.kind)
        func invalid(_ field: String, _ expected: String) -> CorpusError { ModelFolder.invalid(path, field, expected) }
        let stored = try StoredParameters(metadata, folder: path)
        // The prior as given: its name, a number, or "vector" / "matrix" for the saved array.
        func prior(_ name: String, array: NumPyArray) throws -> DirichletPrior {
            let value = stored.values[name] as? String ?? ""
            switch value {
            case "symmetric": return .symmetric
            case "asymmetric": return .asymmetric
            case "auto": return .auto
            case "vector" where array.shape.count == 1: return .vector(array.values)
            case "matrix" where array.shape.count == 2:
                return .matrix(Matrix(rows: array.shape[0], columns: array.shape[1], rowMajor: array.values))
            default:
                guard let number = Double(value) else {
                    throw stored.invalid(name, "symmetric, asymmetric, auto, vector, matrix or a number, got '\(value)'")
                }
                return .value(number)
            }
        }
        let precision: Precision = try stored.choice("precision")
        let terms = try ModelFolder.integer(metadata, "terms", in: path)
        let k = try ModelFolder.integer(metadata, "topics", in: path)
        guard terms >= 1, terms <= Int(Int32.max) else { throw invalid("terms", "1 to \(Int32.max)") }
        guard k == (try stored.integer("topics")) else { throw invalid("topics", "the same as parameters.topics") }
        let documents = try ModelFolder.integer(metadata, "documents_processed", in: path)
        let updates = try ModelFolder.integer(metadata, "updates", in: path)
        let draws = try ModelFolder.integer(metadata, "gamma_draws", in: path)
        guard documents >= 0, updates >= 0, draws >= 0 else {
            throw invalid("documents_processed, updates, gamma_draws", "counts of at least 0")
        }
        let element: NumPyArray.Element = precision == .float64 ? .float64 : .float32
        guard try ModelFolder.string(metadata, "dtype", in: path) == element.rawValue else {
            throw invalid("dtype", "'\(element.rawValue)' for precision \(precision.rawValue)")
        }
        let etaShape = try ModelFolder.string(metadata, "eta_shape", in: path)
        guard etaShape == "terms" || etaShape == "topics x terms" else { throw invalid("eta_shape", "'terms' or 'topics x terms'") }
        let perTopic = etaShape == "topics x terms"

        let lambda = try ModelFolder.array("lambda", in: path, shape: [k, terms])
        let alpha = try ModelFolder.array("alpha", in: path, shape: [k])
        let eta = try ModelFolder.array("eta", in: path, shape: perTopic ? [k, terms] : [terms])
        try ModelFolder.checkArrays([("lambda", lambda), ("alpha", alpha), ("eta", eta)], element: element, in: path,
                                    expected: "positive finite values") { $0.isFinite && $0 > 0 }
        let parameters = LDAParameters(
            topics: k, chunkSize: try stored.integer("chunk_size"), passes: try stored.integer("passes"),
            updateEvery: try stored.integer("update_every"),
            alpha: try prior("alpha", array: alpha), eta: try prior("eta", array: eta),
            decay: try stored.number("decay"), offset: try stored.number("offset"), iterations: try stored.integer("iterations"),
            gammaThreshold: try stored.number("gamma_threshold"), minimumProbability: try stored.number("minimum_probability"),
            evalEvery: try stored.integer("eval_every"), seed: try stored.seed(), precision: precision)
        do {
            try parameters.validate(termCount: terms)
        } catch let error as ModelError {
            throw CorpusError(code: .outOfRange, file: stored.file, message: "parameters: " + error.message)
        }
        let vocabulary = try ModelFolder.vocabulary(in: path, metadata: metadata, file: Self.vocabularyFile, terms: terms)

        let termMajor = Matrix(rows: k, columns: terms, rowMajor: lambda.values).storage
        let etaValues = perTopic ? Matrix(rows: k, columns: terms, rowMajor: eta.values).storage : eta.values
        for w in 0..<terms {
            for i in 0..<k where termMajor[i + w * k] < etaValues[perTopic ? i + w * k : w] * (1 - 1e-6) {
                throw CorpusError(code: .outOfRange, file: path + "/lambda.npy",
                                  message: "lambda[\(i), \(w)] = \(termMajor[i + w * k]) is below eta there; λ = η + statistics ≥ η")
            }
        }
        let storage: Storage
        switch precision {
        case .float64:
            storage = .float64(LDAState(lambda: Matrix(rows: k, columns: terms, columnMajor: termMajor), alpha: alpha.values,
                                        eta: etaValues, etaPerTopic: perTopic, documents: documents, updates: updates, draws: draws))
        case .float32:
            storage = .float32(LDAState(lambda: Matrix(rows: k, columns: terms, columnMajor: termMajor.map { Float($0) }),
                                        alpha: alpha.values.map { Float($0) }, eta: etaValues.map { Float($0) },
                                        etaPerTopic: perTopic, documents: documents, updates: updates, draws: draws))
        }
        self.init(parameters: parameters, termCount: terms, vocabulary: vocabulary, storage: storage)
    }

}
