import Foundation
import LatentCorpus
import LatentKernels
import LatentLinearAlgebra
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The shards of an index in one precision, mapped on first use and searched.
///
/// Mapped shards stay mapped while their total size is within `mappingBudget` (a quarter of
/// the address-space limit when the process has one, as under `ulimit -v`; else unbounded);
/// beyond it the least recently used are let go, so an index larger than memory or than the
/// address space is searched shard by shard. A shard in use stays mapped until its search ends.
final class IndexStore<Scalar: LinearAlgebraScalar>: Sendable {
    let folder: String
    let manifest: IndexManifest
    /// Bit i set: document i was removed.
    private let removed: [UInt64]
    private let cache = Mutex<(mapped: [Int: ShardVectors<Scalar>], recent: [Int], bytes: Int)>(([:], [], 0))
    let mappingBudget: Int

    init(folder: String, manifest: IndexManifest, removed: [Int]) {
        self.folder = folder
        self.manifest = manifest
        var bits = [UInt64](repeating: 0, count: (manifest.documents + 63) / 64)
        for id in removed where id >= 0 && id < manifest.documents { bits[id / 64] |= 1 << UInt64(id % 64) }
        self.removed = bits
        mappingBudget = Self.defaultBudget()
    }

    static func defaultBudget() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return Int.max }
        return Int(clamping: limit.rlim_cur / 4)
    }

    func isRemoved(_ id: Int) -> Bool { removed[id / 64] & (1 << UInt64(id % 64)) != 0 }

    /// Shard `index`, mapped (and checked on its first mapping).
    func shard(_ index: Int) throws -> ShardVectors<Scalar> {
        if let hit = cache.withLock({ cache -> ShardVectors<Scalar>? in
            guard let shard = cache.mapped[index] else { return nil }
            cache.recent.removeAll { $0 == index }
            cache.recent.append(index)
            return shard
        }) { return hit }
        let vectors: ShardVectors<Scalar>
        do {
            vectors = try ShardVectors<Scalar>.open(folder: folder, shard: manifest.shards[index], dense: manifest.isDense,
                                                    screening: manifest.screening != nil, dimension: manifest.dimension)
        } catch let error as CorpusError where error.code == .io && error.message.hasPrefix("cannot map") {
            throw CorpusError(code: .io, file: error.file, message: error.message
                + " (the process's address space is too small for even one shard: raise the limit, ulimit -v, or rebuild the index with a smaller --shard-size)")
        }
        cache.withLock { cache in
            while cache.bytes + vectors.bytes > mappingBudget, let oldest = cache.recent.first {
                cache.recent.removeFirst()
                cache.bytes -= cache.mapped.removeValue(forKey: oldest)?.bytes ?? 0
            }
            if cache.mapped[index] == nil {
                cache.mapped[index] = vectors
                cache.recent.append(index)
                cache.bytes += vectors.bytes
            }
        }
        return vectors
    }

    /// The top `top` documents for each query (unit vectors of `dimension` values, column
    /// after column in `queries`), searched shard by shard: each block of rows is one
    /// matrix product with all the queries, then each query's scores are offered to its
    /// top-N on every core.
    func search(_ queries: [Scalar], count: Int, top: Int, order: SimilarityOrder, threads: Int) throws -> [[SimilarityResult]] {
        if manifest.screening != nil, count < 4, top > 0, !manifest.shards.isEmpty {
            return try (0..<count).map { q in
                try screenedSearch(Array(queries[(q * manifest.dimension)..<((q + 1) * manifest.dimension)]), top: top, order: order,
                                   threads: threads)
            }
        }
        let dimension = manifest.dimension
        var best = (0..<count).map { _ in TopN(count: top, order: order) }
        guard count > 0, top > 0 else { return best.map { $0.results() } }
        // Rows per block: enough for the products to run at speed, the scores at most ~32 MB.
        let blockRows = max(256, min(1 << 16, (1 << 23) / max(1, count)))
        var scores = [Scalar](repeating: 0, count: blockRows * count)
        let workers = max(1, min(threads, count))
        for s in manifest.shards.indices where manifest.shards[s].documents > 0 {
            let vectors = try shard(s)
            let shard = manifest.shards[s]
            var start = 0
            while start < shard.documents {
                let rows = start..<min(shard.documents, start + blockRows)
                queries.withUnsafeBufferPointer { q in
                    scores.withUnsafeMutableBufferPointer { out in
                        guard let queryBase = q.baseAddress, let outBase = out.baseAddress else { return }
                        // Dense rows: one product for all the queries (BLAS uses the cores). Sparse
                        // rows: the queries split among the threads.
                        if workers > 1, case .sparse = vectors {
                            let out = UncheckedPointer(outBase)
                            concurrently(workers: workers) { worker in
                                let range = Self.slice(count, worker, workers)
                                vectors.scores(rows: rows, dimension: dimension, queries: queryBase + range.lowerBound * dimension,
                                               count: range.count, into: out.pointer + range.lowerBound * rows.count)
                            }
                        } else {
                            vectors.scores(rows: rows, dimension: dimension, queries: queryBase, count: count, into: outBase)
                        }
                    }
                }
                let first = shard.first + rows.lowerBound
                scores.withUnsafeBufferPointer { out in
                    let base = UncheckedPointer(UnsafeMutablePointer(mutating: out.baseAddress!))
                    best.withUnsafeMutableBufferPointer { heaps in
                        let heapsBase = UncheckedPointer(heaps.baseAddress!)
                        concurrently(workers: workers) { worker in
                            for q in Self.slice(count, worker, workers) {
                                self.offer(base.pointer + q * rows.count, rows: rows.count, first: first, to: &heapsBase.pointer[q])
                            }
                        }
                    }
                }
                start = rows.upperBound
            }
        }
        return best.map { $0.results() }
    }

    /// Offers a block's scores to a top-N, skipping removed documents; most scores fall
    /// below the current threshold and cost one comparison.
    private func offer(_ scores: UnsafePointer<Scalar>, rows: Int, first: Int, to best: inout TopN) {
        var threshold = best.threshold
        let magnitude = best.order == .magnitude
        for r in 0..<rows {
            let score = Double(scores[r])
            let key = magnitude ? abs(score) : score
            guard key >= threshold else { continue }
            let id = first + r
            if isRemoved(id) { continue }
            best.offer(document: id, score: score)
            threshold = best.threshold
        }
    }

    /// How far a screening score (half-precision rows, float sums) can be from the exact
    /// score of a unit row and a unit query: each component is off by at most 2^-11 of itself
    /// (2^-25 absolutely below half's normal range), which adds up to 2^-11 + 2^-25 √d by
    /// Cauchy-Schwarz; the query's rounding to float and the float sums of both the screening
    /// and the exact score add (2d + 1) 2^-24. Doubled, for margin.
    static func screeningBound(dimension d: Int) -> Double {
        2 * (0x1p-11 + 0x1p-25 * Double(d).squareRoot() + Double(2 * d + 1) * 0x1p-24)
    }

    /// One query through the screening copy: every shard's half rows stream once (on every
    /// core), keeping the documents whose screening score is within twice the bound of the
    /// best `top` so far; those alone are scored exactly. A document of the exact top `top`
    /// scores at least the `top`-th exact score X; the `top`-th screening score T is at most
    /// X + bound (`top` documents screen at T or more, so score at least T − bound); so the
    /// document screens at X − bound ≥ T − 2 bound and is kept. Results are the exact search's.
    private func screenedSearch(_ query: [Scalar], top: Int, order: SimilarityOrder, threads: Int) throws -> [SimilarityResult] {
        let dimension = manifest.dimension
        let margin = 2 * Self.screeningBound(dimension: dimension)
        let magnitude = order == .magnitude
        let query32 = query.map { Float($0) }
        let workers = max(1, threads)
        var screens = (0..<workers).map { _ in Screen(best: TopN(count: top, order: .similarity)) }
        let blockRows = 4096
        for s in manifest.shards.indices where manifest.shards[s].documents > 0 {
            guard case .dense(_, let half?) = try shard(s) else { continue }
            let documents = manifest.shards[s].documents
            screens.withUnsafeMutableBufferPointer { screens in
                let base = UncheckedPointer(screens.baseAddress!)
                concurrently(workers: workers) { worker in
                    var screen = base.pointer[worker]
                    defer { base.pointer[worker] = screen }
                    if screen.scores.count < blockRows { screen.scores = [Float](repeating: 0, count: blockRows) }
                    var start = Self.slice(documents, worker, workers).lowerBound
                    let end = Self.slice(documents, worker, workers).upperBound
                    while start < end {
                        let rows = min(blockRows, end - start)
                        screen.scores.withUnsafeMutableBufferPointer { out in
                            latent_half_dots(half.values.baseAddress! + start * dimension, rows, dimension, query32, out.baseAddress!)
                        }
                        var threshold = Float(screen.best.threshold - margin)
                        for r in 0..<rows {
                            let key = magnitude ? abs(screen.scores[r]) : screen.scores[r]
                            guard key >= threshold else { continue }
                            let id = manifest.shards[s].first + start + r
                            if isRemoved(id) { continue }
                            screen.candidates.append((s, start + r, key))
                            screen.best.offer(document: id, score: Double(key))
                            threshold = Float(screen.best.threshold - margin)
                        }
                        start += rows
                    }
                }
            }
        }
        var merged = TopN(count: top, order: .similarity)
        for screen in screens { merged.merge(screen.best) }
        let cut = merged.threshold - margin
        var exact = TopN(count: top, order: order)
        for screen in screens {
            for candidate in screen.candidates where Double(candidate.key) >= cut {
                let id = manifest.shards[candidate.shard].first + candidate.row
                guard case .dense(let rows, _) = try shard(candidate.shard) else { continue }
                let row = rows.values.baseAddress! + candidate.row * dimension
                var sum: Scalar = 0
                for j in 0..<dimension { sum += row[j] * query[j] }
                exact.offer(document: id, score: Double(sum))
            }
        }
        return exact.results()
    }

    static func slice(_ count: Int, _ worker: Int, _ workers: Int) -> Range<Int> {
        (count * worker / workers)..<(count * (worker + 1) / workers)
    }

    /// Document `id`'s stored vector.
    func vector(of id: Int) throws -> [Double] {
        guard let s = manifest.shards.firstIndex(where: { id >= $0.first && id < $0.first + $0.documents }) else {
            throw ModelError(code: .invalidInput, message: "document \(id) is not in the index (documents 0 to \(manifest.documents - 1))")
        }
        return try shard(s).row(id - manifest.shards[s].first, dimension: manifest.dimension)
    }
}

/// One worker's part of a screened search: its best screening scores, the documents kept
/// for exact scoring, and a buffer of scores.
struct Screen {
    var best: TopN
    var candidates: [(shard: Int, row: Int, key: Float)] = []
    var scores: [Float] = []
}

/// A pointer handed to `concurrently`, whose workers write disjoint parts.
struct UncheckedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
