import Foundation
import LatentCorpus
import TestSupport
import Testing

/// gensim's Deerwester corpus as `MmCorpus.serialize` writes it (bag-of-words counts).
let deerwesterMM = """
    %%MatrixMarket matrix coordinate real general
    9 12 28                                           
    1 1 1
    1 2 1
    1 3 1
    2 1 1
    2 4 1
    2 5 1
    2 6 1
    2 7 1
    2 8 1
    3 3 1
    3 6 1
    3 8 1
    3 9 1
    4 3 1
    4 8 2
    4 9 1
    5 4 1
    5 6 1
    5 7 1
    6 10 1
    7 10 1
    7 11 1
    8 10 1
    8 11 1
    8 12 1
    9 5 1
    9 11 1
    9 12 1

    """

@Suite("Matrix Market")
struct MatrixMarketTests {
    @Test("reads gensim's layout: counts, documents, sorted terms")
    func reads() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("d.mm", deerwesterMM)
        let corpus = try MatrixMarketCorpus(path: path)
        #expect(corpus.documentCount == 9 && corpus.termCount == 12 && corpus.nonZeroCount == 28)
        let docs = try corpus.allDocuments()
        #expect(docs.count == 9)
        #expect(docs[3].termIDs == [2, 7, 8] && docs[3].weights == [1, 2, 1])
        #expect(docs[8].termIDs == [4, 10, 11])
    }

    @Test("writes back byte-identical, with gensim's index")
    func roundTrip() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("d.mm", deerwesterMM)
        let corpus = try MatrixMarketCorpus(path: path)
        try MatrixMarketWriter.write(corpus, to: dir.file("out.mm"), termCount: 12)
        #expect(try dir.read("out.mm") == Array(deerwesterMM.utf8))
        let indexed = try MatrixMarketCorpus(path: dir.file("out.mm"))
        #expect(indexed.index?.count == 9)
        for number in [0, 4, 8] { #expect(try indexed.document(at: number) == corpus.allDocuments()[number]) }
    }

    @Test("empty documents in the middle and at the end are kept; the index marks them -1")
    func emptyDocuments() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("e.mm", "%%MatrixMarket matrix coordinate real general\n% a comment\n5 3 2\n2 1 0.5\n4 3 -1.25e-3\n")
        let docs = try MatrixMarketCorpus(path: path).allDocuments()
        #expect(docs.map(\.count) == [0, 1, 0, 1, 0])
        #expect(docs[3].weights == [-1.25e-3])
        try MatrixMarketWriter.write(InMemoryCorpus(docs), to: dir.file("o.mm"), termCount: 3)
        let again = try MatrixMarketCorpus(path: dir.file("o.mm"))
        #expect(again.index == [-1, 97, -1, 105, 118])
        #expect(try again.allDocuments() == docs)
        #expect(try again.document(at: 2).isEmpty)
    }

    @Test("reals round-trip exactly and integers print as integers")
    func weightFormatting() throws {
        let samples: [Double] = [1, 2, -3, 0.1, 1.0 / 3.0, 0.5773502691896258, 1e-05, 0.0001, 123456.789,
                                 2.5e-10, 6.02214076e23, -7.0e-7, 0.30000000000000004]
        var generator = SeededByteGenerator(seed: 99)
        let random = (0..<2000).map { _ in
            (Double(generator.next() >> 11) * 0x1p-52 - 1) * pow(10, Double(generator.below(17) - 8))
        }
        let dir = try TemporaryDirectory()
        let docs = (samples + random).map { try! SparseDocument(entries: [(0, $0)]) }
        try MatrixMarketWriter.write(InMemoryCorpus(docs), to: dir.file("w.mm"), index: false)
        let back = try MatrixMarketCorpus(path: dir.file("w.mm")).allDocuments()
        #expect(back == docs)
        let text = String(decoding: try dir.read("w.mm"), as: UTF8.self)
        #expect(text.contains("\n1 1 1\n2 1 2\n3 1 -3\n4 1 0.1\n"))
        #expect(pythonRepr(1e-05) == "1e-05" && pythonRepr(0.0001) == "0.0001" && pythonRepr(1e16) == "1e+16")
        #expect(pythonRepr(123456789012345.6) == "123456789012345.6" && pythonRepr(-0.5) == "-0.5")
    }

    @Test("gzip and bzip2 files read the same as plain ones")
    func compressed() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("d.mm", deerwesterMM)
        let plain = try MatrixMarketCorpus(path: path).allDocuments()
        for (tool, suffix) in [("gzip", ".gz"), ("bzip2", ".bz2")] {
            let compressed = try runProcess("/usr/bin/env", [tool, "-k", path])
            try #require(compressed.status == 0, "\(tool) failed: \(compressed.error)")
            #expect(try MatrixMarketCorpus(path: path + suffix).allDocuments() == plain, "\(suffix)")
        }
    }
}
