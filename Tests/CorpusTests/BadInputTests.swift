import Foundation
import LatentCorpus
import TestSupport
import Testing

/// Each bad file gets a `CorpusError` naming the file, the line and what was expected.
@Suite("bad Matrix Market input")
struct BadInputTests {
    static let header = "%%MatrixMarket matrix coordinate real general\n"

    static let cases: [(name: String, text: String, line: Int?, phrase: String)] = [
        ("empty file", "", 1, "empty file"),
        ("wrong header", "%%MatrixMarket matrix array real general\n3 3 0\n", 1, "expected the header"),
        ("missing header", "3 3 1\n1 1 1\n", 1, "expected the header"),
        ("missing stats line", header, 2, "missing the stats line"),
        ("non-numeric stats", header + "3 x 1\n", 2, "stats line"),
        ("two-field stats", header + "3 3\n", 2, "3 fields"),
        ("truncated last line", header + "2 2 2\n1 1 1\n2 2", 4, "found 2"),
        ("missing field", header + "2 2 2\n1 1 1\n2\n", 4, "found 1"),
        ("non-numeric weight", header + "2 2 1\n1 1 abc\n", 3, "expected a weight, found 'abc'"),
        ("non-numeric document", header + "2 2 1\nx 1 1\n", 3, "expected a document number"),
        ("extra field", header + "2 2 1\n1 1 1 7\n", 3, "found more"),
        ("term id 0", header + "2 2 1\n1 0 1\n", 3, "term 0 outside 1...2"),
        ("term id above the declared terms", header + "2 2 1\n1 3 1\n", 3, "term 3 outside 1...2"),
        ("document above the declared documents", header + "2 2 1\n3 1 1\n", 3, "document 3 outside 1...2"),
        ("documents going down", header + "2 2 2\n2 1 1\n1 1 1\n", 4, "must not go down"),
        ("NaN weight", header + "2 2 1\n1 1 nan\n", 3, "finite"),
        ("infinite weight", header + "2 2 1\n1 1 -inf\n", 3, "finite"),
        ("repeated term", header + "2 2 2\n1 1 1\n1 1 2\n", 3, "twice"),
        ("stats line disagrees", header + "2 2 5\n1 1 1\n", 2, "declares 5 non-zero entries, the file has 1"),
        ("binary garbage", String(decoding: [0x00, 0xFF, 0x13, 0x88, 0x0A, 0x01], as: UTF8.self), 1, "binary data"),
    ]

    @Test("each case names the file, the line and what was expected", arguments: 0..<cases.count)
    func badFile(_ index: Int) throws {
        let (name, text, line, phrase) = Self.cases[index]
        let dir = try TemporaryDirectory()
        let path = try dir.write("bad.mm", text)
        do {
            let corpus = try MatrixMarketCorpus(path: path)
            _ = try corpus.allDocuments()
            Issue.record("\(name): no error")
        } catch let error as CorpusError {
            #expect(error.file == path, "\(name)")
            #expect(error.line == line, "\(name): \(error)")
            #expect(error.description.contains(phrase), "\(name): \(error)")
        }
    }

    @Test("a missing file is an i/o error naming it")
    func missingFile() {
        #expect(throws: CorpusError.self) { try MatrixMarketCorpus(path: "/nonexistent/x.mm") }
    }
}
