import Foundation
import Latent
import TestSupport
import Testing

/// Outputs people and other programs read directly: topic tables and topics as JSON.
@Suite("readable outputs", .serialized, .timeLimit(.minutes(3)))
struct ReadableOutputsTests {
    @Test("project --out .tsv and .jsonl: a line per document with its source file and every topic weight")
    func tables() throws {
        let dir = try TemporaryDirectory()
        for (index, title) in DeerwesterExample.titles.enumerated() { try dir.write("docs/\(index + 1).txt", title) }
        try dir.write("stop.txt", "for\na\nof\nthe\nand\nto\nin\n")
        var result = try CommandLineTests.run(["corpus", dir.file("docs"), "--out", dir.file("d"), "--stopwords", dir.file("stop.txt"),
                                               "--no-below", "2", "--no-above", "1.0"])
        try #require(result.status == 0, "\(result.error)")
        // The list of files follows the documents through TF-IDF.
        result = try CommandLineTests.run(["tfidf", dir.file("d.mm"), "--out", dir.file("d.tfidf.mm")])
        #expect(try dir.text("d.tfidf.files.tsv") == dir.text("d.files.tsv"))
        result = try CommandLineTests.run(["lsi", dir.file("d.mm"), "--vocab", dir.file("d.vocab"), "--topics", "2", "--out", dir.file("m")])
        try #require(result.status == 0, "\(result.error)")
        let model = try LSIModel(contentsOf: dir.file("m"))
        let expected = try MatrixMarketCorpus(path: dir.file("d.mm")).allDocuments().map { try model.project($0) }

        result = try CommandLineTests.run(["project", dir.file("m"), dir.file("d.mm"), "--out", dir.file("p.tsv")])
        #expect(result.status == 0, "\(result.error)")
        let rows = try dir.text("p.tsv").split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(rows.first == ["document", "file", "topic_0", "topic_1"])
        try #require(rows.count == 10)
        for (number, row) in rows.dropFirst().enumerated() {
            #expect(row[0] == Substring(String(number)) && row[1] == Substring("\(number + 1).txt"))
            let values = row.dropFirst(2).map { Double($0) ?? .nan }
            #expect(zip(values, expected[number]).allSatisfy { abs($0 - $1) <= 1e-12 } && values.count == 2, "document \(number)")
        }

        result = try CommandLineTests.run(["project", dir.file("m"), dir.file("d.mm"), "--out", dir.file("p.jsonl")])
        #expect(result.status == 0, "\(result.error)")
        let lines = try dir.text("p.jsonl").split(separator: "\n")
        try #require(lines.count == 9)
        for (number, line) in lines.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["document"] as? Int == number && object["file"] as? String == "\(number + 1).txt")
            let values = object["topics"] as? [Double] ?? []
            #expect(zip(values, expected[number]).allSatisfy { abs($0 - $1) <= 1e-12 } && values.count == 2, "document \(number)")
        }
    }

    @Test("topics --json gives every topic's singular value and weighted terms")
    func topicsJSON() throws {
        let dir = try TemporaryDirectory()
        try dir.write("t.txt", LSICommandTests.titles)
        try dir.write("stop.txt", "for\na\nof\nthe\nand\nto\nin\n")
        _ = try CommandLineTests.run(["corpus", dir.file("t.txt"), "--out", dir.file("d"), "--stopwords", dir.file("stop.txt"),
                                      "--no-below", "2", "--no-above", "1.0"])
        let trained = try CommandLineTests.run(["lsi", dir.file("d.mm"), "--vocab", dir.file("d.vocab"), "--out", dir.file("m")])
        try #require(trained.status == 0, "\(trained.error)")
        let result = try CommandLineTests.run(["topics", dir.file("m"), "--json", "--top", "2", "--first", "2"])
        #expect(result.status == 0, "\(result.error)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(document["model"] as? String == dir.file("m"))
        let topics = try #require(document["topics"] as? [[String: Any]])
        #expect(topics.count == 2)
        #expect(topics.map { $0["topic"] as? Int } == [0, 1])
        #expect(abs((topics[0]["singular_value"] as? Double ?? 0) - 3.341) < 5e-4)
        let terms = try #require(topics[0]["terms"] as? [[String: Any]])
        #expect(terms.map { $0["term"] as? String } == ["system", "user"])
        #expect(abs(abs(terms[0]["weight"] as? Double ?? 0) - 0.644) < 5e-4)
    }
}
