import Foundation

/// Reads chunks of a corpus on a thread of its own, a bounded number ahead of the consumer,
/// so that parsing overlaps with the computation on the previous chunk.
///
/// The queue holds at most `depth` chunks; the reader thread waits when it is full, so
/// memory stays bounded by `depth + 2` chunks. `next()` blocks until a chunk is ready: call
/// it from a thread that may block (not from a tight async loop holding many tasks).
/// `cancel()` (also called on deinit) stops the reader at its next chunk.
public final class ChunkPrefetcher: Sendable {
    private let pipeline: OrderedPipeline<SparseChunk, SparseChunk>

    /// Starts reading `corpus` in chunks of `size` documents, from chunk `firstChunk` on
    /// (chunk numbers and first documents as if read from the start). The chunks before it
    /// are not read when the corpus reads ranges of documents (`RangeReadableCorpus`), else
    /// read and thrown away; a corpus that reads ranges fastest (`prefersRanges`) is read by
    /// ranges from the start too.
    public init<C: Corpus>(_ corpus: C, chunkSize size: Int, depth: Int = 2, firstChunk: Int = 0) {
        let size = max(1, size)
        let start = max(0, firstChunk) * size
        pipeline = OrderedPipeline(workers: 0, depth: max(1, depth), name: "latent.prefetch", produce: { emit in
            if let ranges = corpus as? any RangeReadableCorpus, ranges.supportsRanges, start > 0 || ranges.prefersRanges,
               let total = corpus.documentCount {
                for first in stride(from: start, to: total, by: size) {
                    guard emit(try ranges.chunk(documents: first..<min(first + size, total))) else { return }
                }
                return
            }
            var reader = try corpus.makeReader()
            var next = 0
            var chunk = SparseChunk(reservingDocuments: size)
            while next < start {
                guard try reader.fill(&chunk, firstDocument: next, size: min(size, start - next)) else { return }
                next += chunk.documentCount
            }
            while true {
                chunk = SparseChunk(reservingDocuments: size)
                guard try reader.fill(&chunk, firstDocument: next, size: size) else { return }
                next += chunk.documentCount
                guard emit(chunk) else { return }
            }
        }, transform: { $0 })
    }

    /// The next chunk, nil at the end of the corpus; rethrows the reader's error.
    public func next() throws -> SparseChunk? { try pipeline.next() }

    /// Stops the reader thread at its next chunk.
    public func cancel() { pipeline.cancel() }
}
