import Foundation

/// Reads chunks of a corpus on a thread of its own, a bounded number ahead of the consumer,
/// so that parsing overlaps with the computation on the previous chunk.
///
/// The queue holds at most `depth` chunks; the reader thread waits when it is full, so
/// memory stays bounded by `depth + 2` chunks. `next()` blocks until a chunk is ready: call
/// it from a thread that may block (not from a tight async loop holding many tasks).
/// `cancel()` (also called on deinit) stops the reader at its next chunk.
public final class ChunkPrefetcher: Sendable {
    private let state: PrefetchState

    /// Starts reading `corpus` in chunks of `size` documents.
    public init<C: Corpus>(_ corpus: C, chunkSize size: Int, depth: Int = 2) {
        let state = PrefetchState(depth: max(1, depth))
        self.state = state
        // The thread holds the state, not the prefetcher, so dropping the prefetcher cancels it.
        let thread = Thread { state.produce(corpus, size: max(1, size)) }
        thread.name = "latent.prefetch"
        thread.start()
    }

    deinit { state.cancel() }

    /// The next chunk, nil at the end of the corpus; rethrows the reader's error.
    public func next() throws -> SparseChunk? { try state.next() }

    /// Stops the reader thread at its next chunk.
    public func cancel() { state.cancel() }
}

private final class PrefetchState: @unchecked Sendable {
    // Every field is guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [SparseChunk] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private let depth: Int

    init(depth: Int) { self.depth = depth }

    func produce<C: Corpus>(_ corpus: C, size: Int) {
        do {
            var reader = try corpus.makeReader()
            var next = 0
            while true {
                var chunk = SparseChunk(reservingDocuments: size)
                guard try reader.fill(&chunk, firstDocument: next, size: size) else { break }
                next += chunk.documentCount
                condition.lock()
                while queue.count >= depth && !cancelled { condition.wait() }
                if cancelled {
                    condition.unlock()
                    return
                }
                queue.append(chunk)
                condition.broadcast()
                condition.unlock()
            }
            condition.lock()
            finished = true
        } catch {
            condition.lock()
            failure = error
            finished = true
        }
        condition.broadcast()
        condition.unlock()
    }

    func next() throws -> SparseChunk? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !finished { condition.wait() }
        if !queue.isEmpty {
            let chunk = queue.removeFirst()
            condition.broadcast()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }

    func cancel() {
        condition.lock()
        cancelled = true
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
