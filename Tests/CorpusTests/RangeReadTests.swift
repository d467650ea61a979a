import Foundation
import LatentCorpus
import LatentLinearAlgebra
import TestSupport
import Testing

/// Reading a range of documents directly, as a cluster worker does in shared-storage mode.
@Suite("range reads")
struct RangeReadTests {
    /// 23 documents, some empty (including the first and the last two), others with 1 to 4 terms.
    static let documents: [SparseDocument] = (0..<23).map { number in
        if number == 0 || number == 7 || number == 8 || number >= 21 { return SparseDocument() }
        let count = 1 + number % 4
        let terms = (0..<count).map { Int32(($0 * 5 + number) % 17) }.sorted()
        let unique = Array(Set(terms)).sorted()
        return SparseDocument(uncheckedTermIDs: unique, weights: unique.map { Double($0) * 0.25 + Double(number) })
    }

    @Test("every range of a binary corpus and of an indexed Matrix Market file equals the sequential read")
    func ranges() throws {
        let directory = try TemporaryDirectory()
        let corpus = InMemoryCorpus(Self.documents, termCount: 17)
        try CorpusFile.write(corpus, to: directory.file("c.lbc"))
        try CorpusFile.write(corpus, to: directory.file("c.mm"))
        #expect(FileManager.default.fileExists(atPath: directory.file("c.mm.index")))
        for path in [directory.file("c.lbc"), directory.file("c.mm")] {
            let file = try CorpusFile.openRangeReadable(path)
            #expect(file.supportsRanges)
            for start in 0...23 {
                for end in start...23 {
                    let chunk = try file.chunk(documents: start..<end)
                    #expect(chunk.firstDocument == start)
                    #expect(chunk.documents == Array(Self.documents[start..<end]), "\(path) \(start)..<\(end)")
                }
            }
            #expect(throws: CorpusError.self) { try file.chunk(documents: 20..<24) }
        }
    }

    @Test("a range of documents of a file reads its own ranges; only a range from the file's first document offers them to workers")
    func documentRange() throws {
        let directory = try TemporaryDirectory()
        try CorpusFile.write(InMemoryCorpus(Self.documents, termCount: 17), to: directory.file("c.lbc"))
        let file = try BinaryCorpus(path: directory.file("c.lbc"))
        let training = DocumentRangeCorpus(file, documents: 0..<20)
        #expect(training.supportsRanges && training.path == file.path)
        #expect(try training.chunk(documents: 3..<20) == file.chunk(documents: 3..<20))
        #expect(throws: CorpusError.self) { try training.chunk(documents: 15..<21) }
        let held = DocumentRangeCorpus(file, documents: 20..<23)
        #expect(!held.supportsRanges)
        let chunk = try held.chunk(documents: 1..<3)
        #expect(chunk.firstDocument == 1 && chunk.documents == Array(Self.documents[21..<23]))
        #expect(throws: CorpusError.self) { try held.chunk(documents: 2..<4) }
    }

    @Test("Matrix Market without its index cannot be read by range, and says what it needs")
    func needsIndex() throws {
        let directory = try TemporaryDirectory()
        try CorpusFile.write(InMemoryCorpus(Self.documents, termCount: 17), to: directory.file("c.mm"))
        try FileManager.default.removeItem(atPath: directory.file("c.mm.index"))
        do {
            _ = try CorpusFile.openRangeReadable(directory.file("c.mm"))
            Issue.record("opened without an index")
        } catch let error as CorpusError {
            #expect("\(error)".contains("needs an uncompressed file with its index \(directory.file("c.mm")).index"), "\(error)")
        }
    }

    @Test("a binary chunk of over a million entries, read on several threads, is the sequential read, and names its first bad document")
    func parallelBinaryChunk() throws {
        // 12,000 documents of 100 entries: 1.2 million, enough for every thread to read a share.
        let documents = (0..<12_000).map { (d: Int) -> SparseDocument in
            let ids = (0..<100).map { Int32($0 * 30 + d % 30) }
            return SparseDocument(uncheckedTermIDs: ids, weights: ids.map { Double($0) * 0.125 + Double(d) })
        }
        let directory = try TemporaryDirectory()
        let path = directory.file("c.lbc")
        try BinaryCorpus.write(InMemoryCorpus(documents, termCount: 3_000), to: path, termCount: 3_000)
        let original = BLAS.threads
        defer { BLAS.threads = original }
        var sequential = SparseChunk()
        var reader = try BinaryCorpus(path: path).makeReader()
        #expect(try reader.fill(&sequential, firstDocument: 0, size: 12_000))
        for threads in 1...3 {
            BLAS.threads = threads
            let corpus = try BinaryCorpus(path: path)
            #expect(try corpus.chunk(documents: 0..<12_000) == sequential, "\(threads) threads")
            let part = try corpus.chunk(documents: 4_321..<11_999)
            #expect(part.firstDocument == 4_321 && part.documents == Array(documents[4_321..<11_999]), "\(threads) threads")
        }
        // Document 500's third id made equal to its second, document 11,000's first weight NaN:
        // whichever thread reads which, the error names document 500, then, mended, 11,000.
        let bytes = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? bytes.close() }
        let weightsStart = 64 + 1_200_000 * 4
        try bytes.seek(toOffset: UInt64(64 + (500 * 100 + 2) * 4))
        try bytes.write(contentsOf: withUnsafeBytes(of: Int32(30 + 500 % 30).littleEndian) { Data($0) })
        try bytes.seek(toOffset: UInt64(weightsStart + 11_000 * 100 * 8))
        try bytes.write(contentsOf: withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { Data($0) })
        for threads in 1...3 {
            BLAS.threads = threads
            let corpus = try BinaryCorpus(path: path, verifyChecksum: false)
            #expect { try corpus.chunk(documents: 0..<12_000) } throws: { error in
                "\(error)" == "\(path): document 500: term id 50 out of order or outside 0..<3000"
            }
        }
        try bytes.seek(toOffset: UInt64(64 + (500 * 100 + 2) * 4))
        try bytes.write(contentsOf: withUnsafeBytes(of: Int32(60 + 500 % 30).littleEndian) { Data($0) })
        for threads in 1...3 {
            BLAS.threads = threads
            let corpus = try BinaryCorpus(path: path, verifyChecksum: false)
            #expect { try corpus.chunk(documents: 0..<12_000) } throws: { error in
                "\(error)" == "\(path): document 11000: term 20 has weight nan"
            }
        }
    }
}
