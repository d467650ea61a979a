import Foundation
@testable import LatentCorpus
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Outputs never destroy what they were not asked to replace, and are never seen half-written.
@Suite("output safety", .serialized)
struct OutputSafetyTests {
    static let corpus = InMemoryCorpus([
        SparseDocument(uncheckedTermIDs: [0, 2], weights: [1, 2.5]),
        SparseDocument(uncheckedTermIDs: [], weights: []),
        SparseDocument(uncheckedTermIDs: [1], weights: [3]),
    ], termCount: 3)

    @Test("what may be replaced: nothing, an empty file, the same kind; another kind only with .anyKind; never a folder, a pipe or an input")
    func checks() throws {
        let dir = try TemporaryDirectory()
        try OutputCheck.file(dir.file("new.mm"), kind: .matrixMarket)
        try dir.write("empty.mm", "")
        try OutputCheck.file(dir.file("empty.mm"), kind: .matrixMarket)
        try MatrixMarketWriter.write(Self.corpus, to: dir.file("old.mm"))
        try OutputCheck.file(dir.file("old.mm"), kind: .matrixMarket)
        try OutputCheck.file(dir.file("old.mm.index"), kind: .matrixMarketIndex)

        try dir.write("notes.mm", "my notes\n")
        let other = corpusError { try OutputCheck.file(dir.file("notes.mm"), kind: .matrixMarket) }
        #expect(other?.code == .exists && other?.description.contains("notes.mm: exists and is not a Matrix Market corpus") == true,
                "\(String(describing: other))")
        try OutputCheck.file(dir.file("notes.mm"), kind: .matrixMarket, replacing: .anyKind)
        // A Matrix Market file is not a vocabulary, nor a vocabulary a binary corpus.
        #expect(corpusError { try OutputCheck.file(dir.file("old.mm"), kind: .vocabulary) }?.code == .exists)

        try FileManager.default.createDirectory(atPath: dir.file("folder.mm"), withIntermediateDirectories: false)
        for policy in [ReplacePolicy.sameKind, .anyKind] {
            let folder = corpusError { try OutputCheck.file(dir.file("folder.mm"), kind: .matrixMarket, replacing: policy) }
            #expect(folder?.code == .refused && folder?.description.contains("is a folder") == true)
        }
        #expect(mkfifo(dir.file("pipe.mm"), 0o600) == 0)
        let pipe = corpusError { try OutputCheck.file(dir.file("pipe.mm"), kind: .matrixMarket, replacing: .anyKind) }
        #expect(pipe?.code == .refused && pipe?.description.contains("not a regular file") == true)
        let input = corpusError {
            try OutputCheck.file(dir.file("old.mm"), kind: .matrixMarket, replacing: .anyKind, inputs: [dir.path + "/./old.mm"])
        }
        #expect(input?.code == .refused && input?.description.contains("is also an input") == true)
        let noFolder = corpusError { try OutputCheck.file(dir.file("missing/x.mm"), kind: .matrixMarket) }
        #expect(noFolder?.code == .io && noFolder?.description.contains("does not exist") == true)
    }

    @Test("writers refuse a foreign file and leave it as it was; nothing is left behind")
    func writersRefuse() throws {
        let dir = try TemporaryDirectory()
        try dir.write("c.mm", "precious\n")
        try dir.write("c.lbc", "precious too\n")
        try dir.write("v.vocab", "%%MatrixMarket matrix coordinate real general\n")
        let before = try dir.snapshot()
        #expect(corpusError { try MatrixMarketWriter.write(Self.corpus, to: dir.file("c.mm")) }?.code == .exists)
        #expect(corpusError { try BinaryCorpus.write(Self.corpus, to: dir.file("c.lbc")) }?.code == .exists)
        #expect(corpusError { try Vocabulary().write(to: dir.file("v.vocab")) }?.code == .exists)
        #expect(corpusError { try CorpusFile.write(Self.corpus, to: dir.file("c.txt")) }?.description.contains("unknown corpus extension") == true)
        #expect(try dir.snapshot() == before)
        #expect(TemporaryFiles.registered.isEmpty)
    }

    @Test("a write that fails or is abandoned leaves the old file and no temporary")
    func abandoned() throws {
        let dir = try TemporaryDirectory()
        try MatrixMarketWriter.write(Self.corpus, to: dir.file("c.mm"))
        let before = try dir.snapshot()
        struct Failing: Corpus {
            func makeReader() throws -> InMemoryCorpus.Reader {
                throw CorpusError(code: .io, file: "input", message: "broken")
            }
            var documentCount: Int? { nil }
            var termCount: Int? { 3 }
            var nonZeroCount: Int? { nil }
        }
        #expect(corpusError { try MatrixMarketWriter.write(Failing(), to: dir.file("c.mm")) }?.message == "broken")
        do {
            let writer = try AtomicFileWriter(path: dir.file("c.mm"), kind: .matrixMarket)
            try writer.write("%%MatrixMarket matrix coordinate real general\n")
            #expect(try dir.temporaries().count == 1)
            #expect(TemporaryFiles.registered.count == 1)
        }
        #expect(try dir.snapshot() == before)
        #expect(TemporaryFiles.registered.isEmpty)
    }

    @Test(".gz and .bz2 outputs are compressed, read back equal, and carry no index", arguments: [".mm.gz", ".mm.bz2"])
    func compressed(suffix: String) throws {
        let dir = try TemporaryDirectory()
        try MatrixMarketWriter.write(Self.corpus, to: dir.file("plain.mm"))
        // A stale index at the compressed name is removed with the corpus it described.
        try FileManager.default.copyItem(atPath: dir.file("plain.mm.index"), toPath: dir.file("c" + suffix + ".index"))
        try MatrixMarketWriter.write(Self.corpus, to: dir.file("c" + suffix))
        let bytes = try dir.read("c" + suffix)
        let magic: [UInt8] = suffix.hasSuffix("gz") ? [0x1F, 0x8B] : Array("BZh".utf8)
        #expect(bytes.starts(with: magic))
        #expect(try readWholeFile(path: dir.file("c" + suffix)) == dir.read("plain.mm"))
        #expect(try MatrixMarketCorpus(path: dir.file("c" + suffix)).allDocuments() == Self.corpus.documents)
        #expect(!dir.exists("c" + suffix + ".index"))
        #expect(try dir.temporaries().isEmpty)
        var vocabulary = Vocabulary()
        vocabulary.add(documents: [["graph", "trees"], ["graph"]])
        try vocabulary.write(to: dir.file("v.vocab" + suffix.dropFirst(3)))
        let read = try Vocabulary(contentsOf: dir.file("v.vocab" + suffix.dropFirst(3)))
        #expect(read.tokens == vocabulary.tokens && read.documentFrequencies == vocabulary.documentFrequencies)
    }

    @Test("a group moves its outputs into place together, and not before its commit")
    func group() throws {
        let dir = try TemporaryDirectory()
        let outputs = OutputGroup()
        try MatrixMarketWriter.write(Self.corpus, to: dir.file("c.mm"), group: outputs)
        try Vocabulary().write(to: dir.file("c.vocab"), group: outputs)
        #expect(!dir.exists("c.mm") && !dir.exists("c.mm.index") && !dir.exists("c.vocab"))
        try outputs.commit()
        #expect(dir.exists("c.mm") && dir.exists("c.mm.index") && dir.exists("c.vocab"))
        #expect(try dir.temporaries().isEmpty && TemporaryFiles.registered.isEmpty)
    }
}
