import LatentCorpus
import Synchronization

/// The chunks of one pass over a corpus, read ahead on a thread of their own from the first
/// time one is asked for. Until then the pass may be moved forward without reading
/// (`skip`): a session that replays reductions from a checkpoint starts where they ended.
package final class PassReader: Sendable {
    private let start: @Sendable (_ firstChunk: Int) -> ChunkPrefetcher
    private let state = Mutex(State())

    private struct State {
        var prefetcher: ChunkPrefetcher?
        var firstChunk = 0
        var atEnd = false
        var cancelled = false
    }

    package init<C: Corpus>(_ corpus: C, chunkSize: Int, depth: Int) {
        start = { ChunkPrefetcher(corpus, chunkSize: chunkSize, depth: depth, firstChunk: $0) }
    }

    /// Moves past the next `chunks` chunks (to the end of the pass when nil) without handing
    /// them out. Before the first read this costs nothing (or a read of the chunks, when the
    /// corpus cannot read ranges); after it, the chunks are read and thrown away.
    package func skip(chunks: Int?) throws {
        let prefetcher: ChunkPrefetcher? = state.withLock { state in
            if let prefetcher = state.prefetcher { return prefetcher }
            if let chunks { state.firstChunk += chunks } else { state.atEnd = true }
            return nil
        }
        guard let prefetcher else { return }
        guard let chunks else {
            prefetcher.cancel()
            state.withLock { $0.atEnd = true }
            return
        }
        for _ in 0..<chunks where try prefetcher.next() == nil { break }
    }

    /// The next chunk of the pass, nil at its end; blocks until it is read.
    package func next() throws -> SparseChunk? {
        let prefetcher: ChunkPrefetcher? = state.withLock { state in
            if state.atEnd || state.cancelled { return nil }
            if state.prefetcher == nil { state.prefetcher = start(state.firstChunk) }
            return state.prefetcher
        }
        return try prefetcher?.next()
    }

    /// Stops the reader at its next chunk; `next()` returns nil from then on.
    package func cancel() {
        let prefetcher = state.withLock { state in
            state.cancelled = true
            return state.prefetcher
        }
        prefetcher?.cancel()
    }
}
