import Foundation
import LatentCorpus
@testable import LatentModels
import TestSupport
import Testing

/// A model folder replaces only a model folder of the same kind, and is swapped in whole.
@Suite("model folders", .serialized)
struct ModelFolderTests {
    static func model() async throws -> LSIModel {
        let (vocabulary, corpus) = DeerwesterExample.corpus()
        return try await LSIModel(corpus: corpus, vocabulary: vocabulary, topics: 2, chunkSize: 3)
    }

    @Test("refused, file by file untouched: the folder of the input, a folder with other files, a file, a model of another kind")
    func refusals() async throws {
        let dir = try TemporaryDirectory()
        let lsi = try await Self.model()
        try dir.write("data/c.mm", "%%MatrixMarket matrix coordinate real general\n0 0 0\n")
        try dir.write("data/notes.txt", "mine\n")
        try dir.write("file", "a file\n")
        try TFIDFModel(documentCount: 2, nonZeroCount: 2, documentFrequencies: [1, 2]).save(to: dir.file("tfidf"))
        try lsi.save(to: dir.file("old.lsi"))
        try dir.write("old.lsi/notes.txt", "a note in a model folder\n")
        let before = try dir.snapshot()
        let expectations: [(String, CorpusError.Code, String)] = [
            ("data", .refused, "is a folder that is not a Latent model (it holds c.mm, notes.txt)"),
            (".", .refused, "is a folder that is not a Latent model"),
            ("file", .refused, "is a file, not a model folder"),
            ("tfidf", .exists, "holds a model of kind 'tfidf', not 'lsi'"),
            ("old.lsi", .refused, "is a model folder that also holds other files (notes.txt)"),
        ]
        for (name, code, message) in expectations {
            let refusal = corpusError { try lsi.save(to: dir.file(name)) }
            #expect(refusal?.code == code, "\(name): \(String(describing: refusal))")
            #expect(refusal?.description.contains(message) == true, "\(name): \(String(describing: refusal))")
        }
        // --force replaces a model of another kind, never a folder holding anything else.
        for name in ["data", "file", "old.lsi"] {
            #expect(corpusError { try lsi.save(to: dir.file(name), replacing: .anyKind) }?.code == .refused)
        }
        #expect(try dir.snapshot() == before)
        #expect(try dir.temporaries().isEmpty)
        try lsi.save(to: dir.file("tfidf"), replacing: .anyKind)
        #expect(try LSIModel(contentsOf: dir.file("tfidf")).topicCount == 2)
        #expect(!dir.exists("tfidf/dfs.npy"))
    }

    @Test("a model folder of the same kind is replaced whole; an empty folder is used")
    func replacement() async throws {
        let dir = try TemporaryDirectory()
        let (vocabulary, corpus) = DeerwesterExample.corpus()
        let three = try await LSIModel(corpus: corpus, vocabulary: vocabulary, topics: 3, chunkSize: 3)
        try three.save(to: dir.file("m.lsi"))
        let two = try await Self.model()
        try two.save(to: dir.file("m.lsi"))
        let loaded = try LSIModel(contentsOf: dir.file("m.lsi"))
        #expect(loaded.topicCount == 2 && loaded.singularValues == two.singularValues)
        #expect(try dir.temporaries().isEmpty)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.file("m.lsi")))
                == ["model.json", "u.npy", "s.npy", "vocab.txt"])
        try FileManager.default.createDirectory(atPath: dir.file("empty"), withIntermediateDirectories: false)
        try two.save(to: dir.file("empty"))
        #expect(try LSIModel(contentsOf: dir.file("empty")).topicCount == 2)
        // Folders saved before model.json listed its files are still recognised by their arrays.
        let json = dir.file("empty/model.json")
        let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json)))
        var metadata = try #require(stored as? [String: Any])
        metadata["files"] = nil
        try JSONSerialization.data(withJSONObject: metadata).write(to: URL(fileURLWithPath: json))
        try three.save(to: dir.file("empty"))
        #expect(try LSIModel(contentsOf: dir.file("empty")).topicCount == 3)
    }

    @Test("files written side by side: one that fails fails the whole folder, names its file, and leaves nothing")
    func failingFile() async throws {
        let dir = try TemporaryDirectory()
        let lsi = try await Self.model()
        try lsi.save(to: dir.file("m.lsi"))
        let before = try dir.snapshot()
        let arrays = ["u": NumPyArray(shape: [2, 2], values: [1, 2, 3, 4]), "s": NumPyArray(shape: [2], values: [2, 1])]
        let refusal = corpusError {
            try ModelFolder.write(to: dir.file("m.lsi"), metadata: ["kind": "lsi"], arrays: arrays, files: [
                "notes.txt": { path in try "fine\n".write(toFile: path, atomically: false, encoding: .utf8) },
                "vocab.txt": { path in throw CorpusError(code: .io, file: path, message: "disk full") },
            ])
        }
        #expect(refusal?.description.hasSuffix("/vocab.txt: disk full") == true, "\(String(describing: refusal))")
        #expect(try dir.snapshot() == before)
        #expect(try dir.temporaries().isEmpty)
    }

    @Test("a Float32 array is written as its values lie: the bytes of the same values given as Double")
    func float32Bytes() throws {
        let dir = try TemporaryDirectory()
        let floats: [Float] = [1.0 / 3, -0.0, .leastNonzeroMagnitude, -.greatestFiniteMagnitude, .infinity, 1e-20, 7]
        try NumPyArray(shape: [7], floats: floats).write(to: dir.file("a.npy"))
        try NumPyArray(shape: [7], element: .float32, values: floats.map(Double.init)).write(to: dir.file("b.npy"))
        #expect(try dir.read("a.npy") == dir.read("b.npy"))
        let read = try NumPyArray(contentsOf: dir.file("a.npy"))
        #expect(read.element == .float32 && read.shape == [7])
        #expect(read.values.map { Float($0).bitPattern } == floats.map(\.bitPattern))
        #expect(NumPyArray(shape: [7], floats: floats) == NumPyArray(shape: [7], element: .float32, values: floats.map(Double.init)))
        #expect(NumPyArray(shape: [7], floats: floats) != NumPyArray(shape: [7], values: floats.map(Double.init)), "another element type")
    }
}
