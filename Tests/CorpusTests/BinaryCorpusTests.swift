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

    /// The sample documents written to `c.lbc` in `dir` over 300 terms, and the file opened.
    static func writtenSample(in dir: TemporaryDirectory) throws -> ([SparseDocument], BinaryCorpus) {
        let docs = try sampleDocuments()
        try BinaryCorpus.write(InMemoryCorpus(docs), to: dir.file("c.lbc"), termCount: 300)
        return (docs, try BinaryCorpus(path: dir.file("c.lbc")))
    }

    @Test("round-trips Float64 exactly and Float32 to single precision; random access")
    func roundTrip() throws {
        let dir = try TemporaryDirectory()
        let (docs, corpus) = try Self.writtenSample(in: dir)
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

    @Test("a reader knows the entries of the next documents from the offsets, and a chunk gets room for them at once")
    func entriesAhead() throws {
        let dir = try TemporaryDirectory()
        let (docs, corpus) = try Self.writtenSample(in: dir)
        func entries(_ range: Range<Int>) -> Int { docs[range].reduce(0) { $0 + $1.count } }
        var reader = corpus.makeReader()
        #expect(reader.entries(inNext: 10) == entries(0..<10))
        var chunk = SparseChunk()
        #expect(try reader.fill(&chunk, firstDocument: 0, size: 64))
        #expect(chunk.documents == Array(docs[0..<64]))
        #expect(chunk.termIDs.capacity >= entries(0..<64) && chunk.weights.capacity >= entries(0..<64))
        #expect(reader.entries(inNext: 100) == entries(64..<164))
        // Past the end: only the documents that are left; none at the end; none asked.
        #expect(reader.entries(inNext: 1000) == entries(64..<docs.count))
        #expect(reader.entries(inNext: 0) == 0)
        #expect(try reader.fill(&chunk, firstDocument: 64, size: 1000))
        #expect(chunk.documents == Array(docs[64...]))
        #expect(reader.entries(inNext: 5) == 0)
        #expect(try !reader.fill(&chunk, firstDocument: docs.count, size: 5))
        // Other readers do not know.
        var other = InMemoryCorpus(docs).makeReader()
        #expect(other.entries(inNext: 5) == nil)
        _ = try other.next()
    }

    /// Resident kilobytes of this process's mappings of `path` (/proc/self/smaps), or nil
    /// where there is no such file.
    static func residentKilobytes(mapping path: String) throws -> Int? {
        // Read to the end: procfs files report a size of 0.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps"), let data = try handle.readToEnd(),
              let smaps = String(data: data, encoding: .utf8) else { return nil }
        var total = 0, inside = false
        for line in smaps.split(separator: "\n") {
            let first = line.prefix { $0 != " " }
            if first.contains("-"), first.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                inside = line.hasSuffix(path)  // a mapping's first line: addresses, ..., its file
            } else if inside, line.hasPrefix("Rss:") {
                total += Int(line.split(separator: " ")[1]) ?? 0
            }
        }
        return total
    }

    @Test("reading hands the mapped pages back: the checksum pass, a reader and a range leave little of the file resident")
    func mappedPagesReleased() throws {
        // 60,000 documents of 100 entries: 6 million entries, 72 MB of ids and weights.
        let ids: [Int32] = (0..<100).map { Int32($0 * 50) }
        let documents = (0..<60_000).map { (d: Int) -> SparseDocument in
            let shift = Int32(d % 50)
            return SparseDocument(uncheckedTermIDs: ids.map { $0 + shift }, weights: (0..<100).map { Double(d + $0) * 0.5 })
        }
        let dir = try TemporaryDirectory()
        let path = dir.file("big.lbc")
        try BinaryCorpus.write(InMemoryCorpus(documents, termCount: 5_000), to: path, termCount: 5_000)
        let fileKB = Int(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0) / 1024
        #expect(fileKB > 70_000)
        let corpus = try BinaryCorpus(path: path)  // verifies the checksum: reads every page
        guard let afterOpen = try Self.residentKilobytes(mapping: path) else {
            print("SKIPPING the resident-memory checks: no /proc/self/smaps here")
            return
        }
        // Only the document offsets (480 KB), read after the checksum, stay.
        #expect(afterOpen < 2_000, "\(afterOpen) KB of the \(fileKB) KB file resident after opening")

        var weightSum = 0.0, entries = 0
        try corpus.forEachChunk(size: 7_000) { chunk in
            weightSum += chunk.weights.reduce(0, +)
            entries += chunk.nonZeroCount
        }
        #expect(entries == 6_000_000)
        let expectedSum = documents.reduce(0.0) { $0 + $1.weights.reduce(0, +) }
        #expect(weightSum == expectedSum)
        // Pages are handed back behind the reader every 4 million entries (48 MB here).
        let afterReading = try Self.residentKilobytes(mapping: path) ?? 0
        #expect(afterReading < 50_000, "\(afterReading) KB of the \(fileKB) KB file resident after reading it")

        let whole = try corpus.chunk(documents: 0..<60_000)
        let again = try corpus.chunk(documents: 0..<60_000)
        #expect(whole.nonZeroCount == 6_000_000 && whole.weights == again.weights)
        let afterRange = try Self.residentKilobytes(mapping: path) ?? 0
        #expect(afterRange < 2_000, "\(afterRange) KB of the \(fileKB) KB file resident after reading a range")
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
