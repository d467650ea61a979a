import Foundation
import LatentCorpus
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
}
