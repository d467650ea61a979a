import LatentCorpus
import LatentModels

/// A job's chunks on the wire (`ChunkHeader.level`, latent.proto): one chunk's portable bytes
/// at level 0; for a block of 2^level chunks, their count and then each chunk's bytes.
///
/// A block is a whole subtree of its stage's merge tree, so whoever runs it merges its
/// chunks' states exactly as the tree would: blocks change how many jobs a stage has, never
/// its result.
enum ChunkBlock {
    /// The payload of a block of 2^level consecutive chunks of a pass, each already encoded
    /// (`SparseChunk.portableBytes`).
    static func encode(payloads encoded: [[UInt8]]) -> [UInt8] {
        if encoded.count == 1 { return encoded[0] }
        var writer = PortableWriter(reservingCapacity: 8 + encoded.reduce(0) { $0 + $1.count + 8 })
        writer.write(encoded.count)
        for bytes in encoded { writer.write(array: bytes) }
        return writer.bytes
    }

    /// The chunks of a job's payload, each decoded and checked against `termBound`; named by
    /// their chunk numbers from `firstChunk` in errors.
    static func decode(_ payload: [UInt8], level: Int, termBound: Int, firstChunk: Int) throws -> [SparseChunk] {
        guard level > 0 else {
            return [try SparseChunk(portableBytes: payload, termBound: termBound, payload: "chunk \(firstChunk)")]
        }
        let count = 1 << level
        var reader = PortableReader(payload, payload: "block of chunks \(firstChunk) to \(firstChunk + count - 1)")
        _ = try reader.readInt("chunk count", in: count...count)
        var chunks: [SparseChunk] = []
        chunks.reserveCapacity(count)
        for index in 0..<count {
            let bytes: [UInt8] = try reader.readArray("chunk \(firstChunk + index)")
            chunks.append(try SparseChunk(portableBytes: bytes, termBound: termBound, payload: "chunk \(firstChunk + index)"))
        }
        try reader.finish()
        return chunks
    }

    /// The document ranges of a block's chunks: `documents` from `firstDocument`, in chunks of
    /// `leafDocuments` (the last possibly fewer); throws unless that makes exactly `chunks`
    /// chunks.
    static func ranges(firstDocument: Int, documents: Int, leafDocuments: Int, chunks: Int) throws(BlockMismatch) -> [Range<Int>] {
        guard chunks == 1 || (leafDocuments >= 1 && documents > (chunks - 1) * leafDocuments
                                && documents <= chunks * leafDocuments) else {
            throw BlockMismatch(description: "\(documents) documents in chunks of \(leafDocuments) do not make \(chunks) chunks")
        }
        guard chunks > 1 else { return [firstDocument..<(firstDocument + documents)] }
        return (0..<chunks).map { index in
            let start = firstDocument + index * leafDocuments
            return start..<min(start + leafDocuments, firstDocument + documents)
        }
    }

    /// Throws unless `chunks` hold, in order, the documents the header says.
    static func check(_ chunks: [SparseChunk], firstDocument: Int, documents: Int, leafDocuments: Int) throws(BlockMismatch) {
        let expected = try ranges(firstDocument: firstDocument, documents: documents, leafDocuments: leafDocuments,
                                  chunks: chunks.count)
        for (chunk, range) in zip(chunks, expected) {
            guard chunk.firstDocument == range.lowerBound, chunk.documentCount == range.count else {
                throw BlockMismatch(description: "holds documents \(chunk.firstDocument)+\(chunk.documentCount) where the header says \(range.lowerBound)+\(range.count)")
            }
        }
    }

    struct BlockMismatch: Error, CustomStringConvertible {
        let description: String
    }
}
