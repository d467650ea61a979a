import Foundation
import LatentCorpus
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
        let vectors = try ShardVectors<Scalar>.open(folder: folder, shard: manifest.shards[index], dense: manifest.isDense,
                                                   dimension: manifest.dimension)
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
                        if count == 1 || workers == 1 {
                            vectors.scores(rows: rows, dimension: dimension, queries: queryBase, count: count, into: outBase)
                        } else {
                            // Queries split among threads for the sparse kernel; one product for dense.
                            if case .dense = vectors {
                                vectors.scores(rows: rows, dimension: dimension, queries: queryBase, count: count, into: outBase)
                            } else {
                                let out = UncheckedPointer(outBase)
                                concurrently(workers: workers) { worker in
                                    let range = Self.slice(count, worker, workers)
                                    vectors.scores(rows: rows, dimension: dimension, queries: queryBase + range.lowerBound * dimension,
                                                   count: range.count, into: out.pointer + range.lowerBound * rows.count)
                                }
                            }
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

/// A pointer handed to `concurrently`, whose workers write disjoint parts.
struct UncheckedPointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
