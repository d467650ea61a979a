import LatentCorpus

/// The `parameters` object of a model folder's `model.json`, read field by field; every
/// error names the file and the field ("parameters.decay") and what was expected.
struct StoredParameters {
    let values: [String: Any]
    /// The model.json file, for errors.
    let file: String

    init(_ metadata: [String: Any], folder: String) throws {
        file = folder + "/model.json"
        guard let values = metadata["parameters"] as? [String: Any] else {
            throw ModelFolder.invalid(folder, "parameters", "an object")
        }
        self.values = values
    }

    func invalid(_ name: String, _ expected: String) -> CorpusError {
        CorpusError(code: .format, file: file, message: "field 'parameters.\(name)': expected \(expected)")
    }

    func integer(_ name: String) throws -> Int {
        guard let value = values[name] as? Int else { throw invalid(name, "an integer") }
        return value
    }

    func number(_ name: String) throws -> Double {
        guard let value = values[name] as? Double ?? (values[name] as? Int).map(Double.init) else {
            throw invalid(name, "a number")
        }
        return value
    }

    /// One of the cases of `Choice`, by its raw value.
    func choice<Choice: RawRepresentable & CaseIterable>(_ name: String, _: Choice.Type = Choice.self) throws -> Choice
    where Choice.RawValue == String {
        guard let value = (values[name] as? String).flatMap(Choice.init(rawValue:)) else {
            throw invalid(name, "one of " + Choice.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }

    /// A seed, stored as a string (JSON numbers do not hold every 64-bit integer).
    func seed(_ name: String = "seed") throws -> UInt64 {
        guard let value = (values[name] as? String).flatMap(UInt64.init) else {
            throw invalid(name, "a string holding an unsigned 64-bit integer")
        }
        return value
    }
}

extension ModelFolder {
    /// An error in a top-level field of the folder's model.json.
    static func invalid(_ folder: String, _ field: String, _ expected: String) -> CorpusError {
        CorpusError(code: .format, file: folder + "/" + metadataFile, message: "field '\(field)': expected \(expected)")
    }

    /// Checks that each array has the `element` type model.json names and only values that
    /// `valid` accepts (`expected` says which, for the error).
    static func checkArrays(_ arrays: [(name: String, array: NumPyArray)], element: NumPyArray.Element, in folder: String,
                            expected: String, valid: (Double) -> Bool) throws {
        for (name, array) in arrays {
            guard array.element == element else {
                throw CorpusError(code: .inconsistent, file: folder + "/\(name).npy",
                                  message: "dtype \(array.element.rawValue); model.json says \(element.rawValue)")
            }
            if let index = array.values.firstIndex(where: { !valid($0) }) {
                throw CorpusError(code: .outOfRange, file: folder + "/\(name).npy",
                                  message: "value #\(index) is \(array.values[index]); expected \(expected)")
            }
        }
    }

    /// The folder's vocabulary, when model.json names one (`file`, or "" for none), checked to
    /// fit a model of `terms` terms.
    static func vocabulary(in folder: String, metadata: [String: Any], file: String, terms: Int) throws -> Vocabulary? {
        let name = try string(metadata, "vocabulary", in: folder)
        if name.isEmpty { return nil }
        guard name == file else { throw invalid(folder, "vocabulary", "'\(file)' or ''") }
        let loaded = try Vocabulary(contentsOf: folder + "/" + name)
        guard loaded.idBound <= terms else {
            throw CorpusError(code: .inconsistent, file: folder + "/" + name,
                              message: "term ids reach \(loaded.idBound - 1); the model has \(terms) terms")
        }
        return loaded
    }
}
