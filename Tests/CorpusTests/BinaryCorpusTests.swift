import Foundation
import LatentCorpus
import TestSupport
import Testing

@Suite("binary corpus format")
struct BinaryCorpusTests {
    static func sampleDocuments() throws -> [SparseDocument] {
        var docs: [SparseDocument] = [SparseDocument()]
        for d in 0..<200 {
            let count = d % 7
            let entries = (0..<count).map { (Int32(($0 * 37 + d * 11) % 300), Double(d) * 0.125 - Double($0) / 3) }
            var seen = Set<Int32>()
            docs.append(try SparseDocument(entries: entries.filter { seen.insert($0.0).inserted }))
        }
        docs.append(SparseDocument())
        return docs
    }

    @Test("round-trips Float64 exactly and Float32 to single precision; random access")
    func roundTrip() throws {
        let dir = try TemporaryDirectory()
        let docs = try Self.sampleDocuments()
        try BinaryCorpus.write(InMemoryCorpus(docs), to: dir.file("c.lbc"), termCount: 300)
        let corpus = try BinaryCorpus(path: dir.file("c.lbc"))
        #expect(corpus.documentCount == docs.count && corpus.termCount == 300)
        #expect(try corpus.allDocuments() == docs)
        #expect(try corpus.document(at: 57) == docs[57])
        #expect(try corpus.document(at: 0).isEmpty)
        #expect(throws: CorpusError.self) { try corpus.document(at: docs.count) }

        try BinaryCorpus.write(InMemoryCorpus(docs), to: dir.file("s.lbc"), weightSize: 4)
        let single = try BinaryCorpus(path: dir.file("s.lbc")).allDocuments()
        for (a, b) in zip(single, docs) {
            #expect(a.termIDs == b.termIDs)
            #expect(zip(a.weights, b.weights).allSatisfy { Float($0) == Float($1) })
        }
    }

    @Test("Matrix Market -> binary -> Matrix Market is byte-identical")
    func conversion() throws {
        let dir = try TemporaryDirectory()
        let mm = try dir.write("d.mm", deerwesterMM)
        try CorpusFile.write(try MatrixMarketCorpus(path: mm), to: dir.file("d.lbc"), termCount: 12)
        try CorpusFile.write(try BinaryCorpus(path: dir.file("d.lbc")), to: dir.file("back.mm"), termCount: 12)
        #expect(try dir.read("back.mm") == Array(deerwesterMM.utf8))
    }

    @Test("bad magic, wrong version, bad checksum and truncation are clear errors")
    func corrupt() throws {
        let dir = try TemporaryDirectory()
        try BinaryCorpus.write(InMemoryCorpus(try Self.sampleDocuments()), to: dir.file("c.lbc"))
        let good = try dir.read("c.lbc")
        func expectError(_ bytes: [UInt8], _ phrase: String) throws {
            let path = try dir.write("bad.lbc", bytes: bytes)
            do {
                _ = try BinaryCorpus(path: path).allDocuments()
                Issue.record("no error for \(phrase)")
            } catch let error as CorpusError {
                #expect(error.description.contains(phrase), "\(error)")
                #expect(error.file == path)
            }
        }
        var badMagic = good
        badMagic[0] = UInt8(ascii: "X")
        try expectError(badMagic, "bad magic")
        var badVersion = good
        badVersion[8] = 9
        try expectError(badVersion, "format version 9")
        var flipped = good
        flipped[good.count / 2] ^= 0x40
        try expectError(flipped, "checksum mismatch")
        try expectError(Array(good.prefix(good.count - 5)), "truncated or corrupt")
        try expectError(Array(good.prefix(20)), "truncated")
        try expectError([], "truncated")
    }
}
