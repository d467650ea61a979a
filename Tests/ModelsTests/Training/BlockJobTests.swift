import LatentCorpus
import LatentLinearAlgebra
import LatentModels
import TestSupport
import Testing

/// Blocks: one job for 2^k consecutive chunks that form a whole subtree of a reduction's merge
/// tree (`RemoteComputation.processEncoded(block:index:)`, `RemoteMerger.place(chunk:level:)`),
/// which a cluster uses to send fewer, larger jobs with the same result.
@Suite("blocks of chunks")
struct BlockJobTests {
    /// A portable merge that shows its tree: any other grouping or order gives another string.
    struct Bracketing: PortableComputation {
        static let kind = "test.bracketing"
        var name: String { "bracketing" }
        var termBound: Int { 10 }
        func process(_ chunk: SparseChunk, index: Int) throws -> String { "\(index)" }
        func merge(_ earlier: String, _ later: String) throws -> String { "(\(earlier) \(later))" }
        func encodeParameters(into writer: inout PortableWriter) {}
        init() {}
        init(parameters reader: inout PortableReader) throws {}
        func encode(_ state: String, into writer: inout PortableWriter) { writer.write(array: Array(state.utf8)) }
        func decodeState(_ reader: inout PortableReader) throws -> String {
            String(decoding: try reader.readArray("state", of: UInt8.self), as: UTF8.self)
        }
    }

    static func remote() throws -> any RemoteComputation {
        var registry = ComputationRegistry()
        registry.register(Bracketing.self)
        return try registry.make(kind: Bracketing.kind, parameters: Bracketing().parameterBytes())
    }

    static func chunk(_ index: Int) -> SparseChunk { SparseChunk(firstDocument: index) }

    /// Chunks `0..<count` from `first` cut into aligned blocks of at most 2^`largest`, each as
    /// large as its offset's alignment and the chunks left allow (as a cluster's client cuts a stage).
    static func blocks(first: Int, count: Int, largest: Int) -> [(start: Int, level: Int)] {
        var result: [(Int, Int)] = [], offset = 0
        while offset < count {
            var level = 0
            while level < largest, offset % (2 << level) == 0, offset + (2 << level) <= count { level += 1 }
            result.append((first + offset, level))
            offset += 1 << level
        }
        return result
    }

    @Test("blocks run as one job each and placed at their nodes, in any order, make the merges of the chunks placed one by one")
    func sameTree() throws {
        let remote = try Self.remote()
        var generator = SeededGenerator(seed: 3)
        for count in [1, 2, 3, 5, 8, 13, 16, 19, 40] {
            for first in [0, 5] {
                let reference = TreeMerger(Bracketing(), firstChunk: first)
                for index in first..<(first + count) { try reference.add(index, "\(index)") }
                let expected = try #require(try reference.finish())
                for largest in 0...4 {
                    let merger = remote.makeMerger(firstChunk: first)
                    for (start, level) in Self.blocks(first: first, count: count, largest: largest).shuffled(using: &generator) {
                        let chunks = (start..<(start + (1 << level))).map(Self.chunk)
                        let bytes = level == 0 ? try remote.processEncoded(chunks[0], index: start)
                            : try remote.processEncoded(block: chunks, index: start)
                        try merger.receive(bytes, chunk: start)
                        try merger.place(chunk: start, level: level)
                    }
                    let merged = try Bracketing().state(fromBytes: try #require(try merger.finish()))
                    #expect(merged == expected, "\(count) chunks from \(first), blocks up to 2^\(largest)")
                }
            }
        }
    }

    @Test("a block that is not a whole subtree is refused: placed off its alignment, or of a count that is not a power of two")
    func refused() throws {
        let remote = try Self.remote()
        let merger = remote.makeMerger(firstChunk: 1)
        let state = try remote.processEncoded(block: [Self.chunk(2), Self.chunk(3)], index: 2)
        try merger.receive(state, chunk: 2)
        // Chunks 2 and 3 are offsets 1 and 2 of a reduction from chunk 1: not a subtree.
        #expect(throws: ModelError.self) { try merger.place(chunk: 2, level: 1) }
        #expect(throws: ModelError.self) { try remote.processEncoded(block: (0..<3).map(Self.chunk), index: 0) }
        #expect(throws: ModelError.self) { try remote.processEncoded(block: [], index: 0) }
        #expect(throws: ModelError.self) { try TreeMerger(Bracketing(), firstChunk: 4).add(block: 2, level: 0, "2") }
    }
}
