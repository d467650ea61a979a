import Foundation
import LatentCorpus
import LatentModels
import TestSupport
import Testing

@Suite("TF-IDF model")
struct TFIDFModelTests {
    static let corpus = InMemoryCorpus([
        try! SparseDocument(entries: [(0, 1), (1, 2)]),
        try! SparseDocument(entries: [(0, 1), (2, 1)]),
        try! SparseDocument(entries: [(0, 3), (1, 1), (2, 4)]),
    ])

    @Test("weights are tf * log2(N/df), unit length; terms in every document are dropped")
    func weights() throws {
        let model = try TFIDFModel(corpus: Self.corpus)
        #expect(model.documentFrequencies == [3, 2, 2])
        let doc = model.transform(try SparseDocument(entries: [(0, 5), (1, 2), (2, 1)]))
        #expect(doc.termIDs == [1, 2])
        let idf = log2(3.0 / 2.0)
        let norm = ((2 * idf) * (2 * idf) + idf * idf).squareRoot()
        #expect(abs(doc.weights[0] - 2 * idf / norm) <= 1e-15 && abs(doc.weights[1] - idf / norm) <= 1e-15)
        #expect(model.transform(try SparseDocument(entries: [(0, 1), (9, 1)])).isEmpty, "unknown and ubiquitous terms vanish")
    }

    @Test("saved models load back equal; a corrupt or mismatched folder names the field or file")
    func files() throws {
        let temporary = try TemporaryDirectory()
        let dir = temporary.file("model")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try TFIDFModel(corpus: Self.corpus)
        try model.save(to: dir)
        #expect(try TFIDFModel(contentsOf: dir) == model)

        let json = dir + "/model.json"
        let original = try String(contentsOfFile: json, encoding: .utf8)
        try original.replacingOccurrences(of: "\"num_terms\" : 3", with: "\"num_terms\" : 4").write(toFile: json, atomically: true, encoding: .utf8)
        #expect { try TFIDFModel(contentsOf: dir) } throws: { ($0 as? CorpusError)?.description.contains("dfs.npy: shape [3]; model.json says [4]") == true }
        try original.replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 7").write(toFile: json, atomically: true, encoding: .utf8)
        #expect { try TFIDFModel(contentsOf: dir) } throws: { ($0 as? CorpusError)?.description.contains("'format_version': version 7") == true }
        try original.write(toFile: json, atomically: true, encoding: .utf8)
        try Data([0x93, 0x4E, 0x55]).write(to: URL(fileURLWithPath: dir + "/dfs.npy"))
        #expect { try TFIDFModel(contentsOf: dir) } throws: { ($0 as? CorpusError)?.description.contains("bad magic") == true }
    }

    @Test("NumPy arrays round-trip in every element type")
    func numpy() throws {
        for element in [NumPyArray.Element.float64, .float32, .int64] {
            let array = NumPyArray(shape: [2, 3], element: element, values: [1, -2, element == .int64 ? 3 : 3.5, 0, 5, 6])
            let back = try NumPyArray(bytes: array.encoded(), source: "test")
            #expect(back == array)
            let dataBytes = 6 * (element == .float32 ? 4 : 8)
            #expect((array.encoded().count - dataBytes) % 64 == 0, "the header is padded to 64 bytes as NumPy does")
        }
    }
}
