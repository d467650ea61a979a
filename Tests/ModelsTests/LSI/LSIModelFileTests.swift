import Foundation
import LatentCorpus
import LatentLinearAlgebra
@testable import LatentModels
import TestSupport
import Testing

@Suite("LSI model files")
struct LSIModelFileTests {
    static func trained(_ precision: Precision) async throws -> LSIModel {
        let (vocabulary, corpus) = DeerwesterExample.corpus()
        return try await LSIModel(corpus: corpus, vocabulary: vocabulary, topics: 5, chunkSize: 4, precision: precision, seed: 9)
    }

    static func withFolder(_ body: (String) throws -> Void) throws {
        let temporary = try TemporaryDirectory()
        let dir = temporary.file("model")
        try body(dir)
    }

    @Test("a saved model loads back identical, in both precisions", arguments: Precision.allCases)
    func roundTrip(precision: Precision) async throws {
        let model = try await Self.trained(precision)
        try Self.withFolder { dir in
            try model.save(to: dir)
            let loaded = try LSIModel(contentsOf: dir)
            #expect(loaded.parameters == model.parameters)
            #expect(loaded.termCount == 12 && loaded.topicCount == 5 && loaded.documentsProcessed == 9)
            // The vocabulary file holds what gensim's save_as_text holds: ids, words, document frequencies.
            #expect(loaded.vocabulary?.tokens == model.vocabulary?.tokens)
            #expect(loaded.vocabulary?.documentFrequencies == model.vocabulary?.documentFrequencies)
            #expect(loaded.leftSingularVectors == model.leftSingularVectors)
            #expect(loaded.singularValues == model.singularValues)
            #expect(try loaded.formattedTopic(0) == model.formattedTopic(0))
            let u = try NumPyArray(contentsOf: dir + "/u.npy")
            #expect(u.shape == [12, 5] && u.element == (precision == .float64 ? .float64 : .float32))
            // C order: row i is term i's coordinates.
            #expect(u.values[5 * 3 + 1] == model.leftSingularVectors[3, 1])
        }
    }

    /// Rewrites one file of a saved model, expects loading to fail with `message` in the error.
    static func expectFailure(_ dir: String, _ file: String, _ edit: (String) -> String, _ message: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = dir + "/" + file
        let original = try String(contentsOfFile: path, encoding: .utf8)
        try edit(original).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? original.write(toFile: path, atomically: true, encoding: .utf8) }
        #expect(sourceLocation: sourceLocation) { try LSIModel(contentsOf: dir) } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("a corrupt or mismatched model folder is an error naming the file and field")
    func corrupt() async throws {
        let model = try await Self.trained(.float64)
        try Self.withFolder { dir in
            try model.save(to: dir)
            let json = "model.json"
            try Self.expectFailure(dir, json, { $0.replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 2") },
                                   "model.json: field 'format_version': version 2 is not supported; expected 1")
            try Self.expectFailure(dir, json, { $0.replacingOccurrences(of: "\"kind\" : \"lsi\"", with: "\"kind\" : \"tfidf\"") },
                                   "field 'kind': expected 'lsi', found 'tfidf'")
            try Self.expectFailure(dir, json, { $0.replacingOccurrences(of: "\"terms\" : 12", with: "\"terms\" : 13") },
                                   "u.npy: shape [12, 5]; model.json says [13, 5]")
            try Self.expectFailure(dir, json, { $0.replacingOccurrences(of: "\"dtype\" : \"<f8\"", with: "\"dtype\" : \"<f4\"") },
                                   "field 'dtype': expected '<f8' for precision float64")
            try Self.expectFailure(dir, json, { $0.replacingOccurrences(of: "\"algorithm\" : \"one-pass\"", with: "\"algorithm\" : \"fast\"") },
                                   "field 'parameters.algorithm': expected one of one-pass, multi-pass")
            try Self.expectFailure(dir, json, { $0.replacingOccurrences(of: "\"decay\" : 1", with: "\"decay\" : 3") },
                                   "parameters: decay: expected a value in (0, 1], got 3.0")
            try Self.expectFailure(dir, json, { $0.replacingOccurrences(of: "\"topics\" : 5,", with: "\"topics\" : 50,") },
                                   "field 'topics': expected 0 to 5")
            try Self.expectFailure(dir, json, { _ in "{ not json" }, "model.json: not valid JSON")
            try Self.expectFailure(dir, "vocab.txt", { $0 + "40\textra\t1\n" }, "vocab.txt: term ids reach 40; the model has 12 terms")

            // Arrays: NaN and out-of-order singular values, a truncated file, a missing one.
            let s = dir + "/s.npy"
            let good = try NumPyArray(contentsOf: s)
            try NumPyArray(shape: [5], values: [1, .nan, 0.5, 0.2, 0.1]).write(to: s)
            #expect { try LSIModel(contentsOf: dir) } throws: { "\($0)".contains("s.npy: value #1 is nan; expected finite values") }
            try NumPyArray(shape: [5], values: [1, 2, 0.5, 0.2, 0.1]).write(to: s)
            #expect { try LSIModel(contentsOf: dir) } throws: { "\($0)".contains("s.npy: singular value #1 is 2.0; expected non-negative values, largest first") }
            try NumPyArray(shape: [5], element: .float32, values: good.values).write(to: s)
            #expect { try LSIModel(contentsOf: dir) } throws: { "\($0)".contains("s.npy: dtype <f4; model.json says <f8") }
            try good.write(to: s)
            let u = dir + "/u.npy"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: u))
            try bytes.prefix(bytes.count - 8).write(to: URL(fileURLWithPath: u))
            #expect { try LSIModel(contentsOf: dir) } throws: { "\($0)".contains("u.npy") }
            try FileManager.default.removeItem(atPath: u)
            #expect { try LSIModel(contentsOf: dir) } throws: { "\($0)".contains("u.npy") }
        }
    }
}
