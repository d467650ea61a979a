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

    /// Starts reading `corpus` in chunks of `size` documents.
    public init<C: Corpus>(_ corpus: C, chunkSize size: Int, depth: Int = 2) {
        let size = max(1, size)
        pipeline = OrderedPipeline(workers: 0, depth: max(1, depth), name: "latent.prefetch", produce: { emit in
            var reader = try corpus.makeReader()
            var next = 0
            while true {
                var chunk = SparseChunk(reservingDocuments: size)
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
