import Foundation
import LatentCorpus
import LatentModels
@testable import LatentCluster
import Testing

/// A job's chunks on the wire (`ChunkBlock`) and how large a client makes its blocks.
@Suite("blocks of chunks on the wire")
struct ChunkBlockTests {
    static func chunk(first: Int, documents: Int) -> SparseChunk {
        var chunk = SparseChunk(firstDocument: first)
        for document in 0..<documents {
            chunk.appendEntry(term: Int32(document % 5), weight: Double(first + document))
            chunk.finishDocument()
        }
        return chunk
    }

    @Test("a block's payload decodes to its chunks, checked; one chunk travels as itself")
    func roundTrip() throws {
        let chunks = (0..<4).map { Self.chunk(first: 100 + 3 * $0, documents: $0 == 3 ? 2 : 3) }
        let payload = ChunkBlock.encode(payloads: chunks.map { $0.portableBytes() })
        #expect(try ChunkBlock.decode(payload, level: 2, termBound: 5, firstChunk: 8) == chunks)
        try ChunkBlock.check(chunks, firstDocument: 100, documents: 11, leafDocuments: 3)
        #expect(ChunkBlock.encode(payloads: [chunks[0].portableBytes()]) == chunks[0].portableBytes())
        #expect(try ChunkBlock.decode(chunks[0].portableBytes(), level: 0, termBound: 5, firstChunk: 8) == [chunks[0]])

        // Another count than the level says, a term id out of range, bytes cut short.
        #expect(throws: PortableEncodingError.self) { try ChunkBlock.decode(payload, level: 1, termBound: 5, firstChunk: 8) }
        #expect(throws: PortableEncodingError.self) { try ChunkBlock.decode(payload, level: 2, termBound: 2, firstChunk: 8) }
        #expect(throws: PortableEncodingError.self) { try ChunkBlock.decode(Array(payload.dropLast()), level: 2, termBound: 5, firstChunk: 8) }
        // Documents that are not where the header says.
        #expect(throws: ChunkBlock.BlockMismatch.self) { try ChunkBlock.check(chunks, firstDocument: 101, documents: 11, leafDocuments: 3) }
        #expect(throws: ChunkBlock.BlockMismatch.self) { try ChunkBlock.check(chunks, firstDocument: 100, documents: 12, leafDocuments: 3) }
        #expect(throws: ChunkBlock.BlockMismatch.self) { try ChunkBlock.check(chunks.reversed(), firstDocument: 100, documents: 11, leafDocuments: 3) }
    }

    @Test("a block's documents split into its chunks of leaf_documents, the last possibly fewer; counts that make another number of chunks are refused")
    func ranges() throws {
        #expect(try ChunkBlock.ranges(firstDocument: 64, documents: 88, leafDocuments: 32, chunks: 3) == [64..<96, 96..<128, 128..<152])
        #expect(try ChunkBlock.ranges(firstDocument: 64, documents: 120, leafDocuments: 32, chunks: 4) == [64..<96, 96..<128, 128..<160, 160..<184])
        #expect(try ChunkBlock.ranges(firstDocument: 7, documents: 5, leafDocuments: 0, chunks: 1) == [7..<12])
        #expect(throws: ChunkBlock.BlockMismatch.self) { try ChunkBlock.ranges(firstDocument: 0, documents: 96, leafDocuments: 32, chunks: 4) }
        #expect(throws: ChunkBlock.BlockMismatch.self) { try ChunkBlock.ranges(firstDocument: 0, documents: 129, leafDocuments: 32, chunks: 4) }
        #expect(throws: ChunkBlock.BlockMismatch.self) { try ChunkBlock.ranges(firstDocument: 0, documents: 64, leafDocuments: 0, chunks: 2) }
    }

    @Test("blocks leave two jobs a worker thread: 16 chunks make blocks of 8 for one thread, 4 for two, 1 for eight or more; none for a whole pass or no worker")
    func blockLevel() {
        #expect([1, 2, 3, 4, 7, 8, 100].map { ClusterPass.blockLevel(chunks: 16, threads: $0) } == [3, 2, 1, 1, 0, 0, 0])
        #expect(ClusterPass.blockLevel(chunks: 2, threads: 1) == 0)
        #expect(ClusterPass.blockLevel(chunks: 4, threads: 1) == 1)
        #expect(ClusterPass.blockLevel(chunks: 19, threads: 1) == 3)
        #expect(ClusterPass.blockLevel(chunks: nil, threads: 1) == 0)
        #expect(ClusterPass.blockLevel(chunks: 16, threads: 0) == 0)
        #expect(ClusterPass.blockLevel(chunks: 1 << 30, threads: 1) == DispatcherCore.maximumLevel)
    }
}
