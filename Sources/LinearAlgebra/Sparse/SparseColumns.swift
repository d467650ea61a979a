import Dispatch
import LatentKernels
import Synchronization
/// A sparse matrix in compressed sparse column form (CSC): column j holds the entries
/// `rowIndices[columnStarts[j] ..< columnStarts[j + 1]]` with the matching `values`, row
/// indices ascending within a column.
///
/// This is the linear-algebra view of a chunk of documents (terms x documents); its one
/// heavy operation is the dense x sparse product `Matrix.product(_:_:transpose:)`. The
/// transpose (`transposed()`, a counting sort costing one pass over the entries) gives the
/// product with Aᵀ, and the second form one of the kernels works on.
///
/// The arrays are the program's, not a file's: the initialiser checks them with
/// `precondition`, so callers validate anything read from outside first.
public struct SparseColumns<Scalar: LinearAlgebraScalar>: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public let columnStarts: [Int]
    public let rowIndices: [Int32]
    public let values: [Scalar]

    public init(rows: Int, columns: Int, columnStarts: [Int], rowIndices: [Int32], values: [Scalar]) {
        precondition(rows >= 0 && rows <= Int(Int32.max) && columns >= 0, "sparse matrix dimensions out of range")
        precondition(columnStarts.count == columns + 1 && columnStarts.first == 0 && columnStarts.last == rowIndices.count,
                     "column starts do not delimit the entries")
        precondition(rowIndices.count == values.count, "row indices and values differ in count")
        self.rows = rows
        self.columns = columns
        self.columnStarts = columnStarts
        self.rowIndices = rowIndices
        self.values = values
    }

    public var nonZeroCount: Int { rowIndices.count }

    /// The transpose, still in CSC form (so the CSR form of the receiver). Row indices of
    /// the result ascend within each column because the entries are visited column by column.
    ///
    /// A counting sort; above a million entries it runs on `BLAS.threads` threads, each on a
    /// contiguous range of columns with its own counts, and each thread's entries of a row
    /// placed after those of the threads before it: the same result as one thread.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func transposed() -> SparseColumns {
        let workers = nonZeroCount >= 1 << 20 ? max(1, min(BLAS.threads, columns)) : 1
        let bounds = columnRanges(workers)
        // counts[w * rows + row]: entries of `row` in worker w's columns; then, in place, where
        // worker w's first entry of `row` goes.
        var counts = [Int](repeating: 0, count: workers * rows)
        var starts = [Int](repeating: 0, count: rows + 1)
        // The counting sort writes every entry of both arrays exactly once, so they start
        // uninitialised: no pass only to zero them, and their pages are first touched by the
        // threads that fill them.
        var indices: [Int32] = []
        var transposedValues: [Scalar] = []
        counts.withUnsafeMutableBufferPointer { counts in
            let counts = counts
            concurrently(workers: workers) { w in
                let base = w * rows
                for entry in columnStarts[bounds[w]]..<columnStarts[bounds[w + 1]] { counts[base + Int(rowIndices[entry])] += 1 }
            }
            var position = 0
            for row in 0..<rows {
                starts[row] = position
                for w in 0..<workers {
                    let count = counts[w * rows + row]
                    counts[w * rows + row] = position
                    position += count
                }
            }
            starts[rows] = position
            let total = nonZeroCount
            indices = [Int32](unsafeUninitializedCapacity: total) { indices, indicesCount in
                transposedValues = [Scalar](unsafeUninitializedCapacity: total) { out, valuesCount in
                    let (indices, out) = (indices, out)
                    concurrently(workers: workers) { w in
                        let base = w * rows
                        for j in bounds[w]..<bounds[w + 1] {
                            for entry in columnStarts[j]..<columnStarts[j + 1] {
                                let slot = base + Int(rowIndices[entry])
                                indices[counts[slot]] = Int32(j)
                                out[counts[slot]] = values[entry]
                                counts[slot] += 1
                            }
                        }
                    }
                    valuesCount = total
                }
                indicesCount = total
            }
        }
        return SparseColumns(rows: columns, columns: rows, columnStarts: starts, rowIndices: indices, values: transposedValues)
    }

    /// Bounds of `count` contiguous ranges of columns with about equal entry counts: range w is
    /// `bounds[w]..<bounds[w + 1]`, from 0 to `columns`.
    func columnRanges(_ count: Int) -> [Int] {
        var bounds = [0]
        for w in 1..<max(1, count) {
            let target = nonZeroCount * w / count
            var column = bounds[w - 1]
            while column < columns && columnStarts[column] < target { column += 1 }
            bounds.append(column)
        }
        bounds.append(columns)
        return bounds
    }

    /// The same matrix with its values in another type (e.g. `Float` for products that only
    /// need to steer an iteration).
    /// The row indices are shared; the values are converted on `BLAS.threads` threads above
    /// a million entries.
    @_specialize(where Scalar == Double, Other == Float)
    public func converted<Other: LinearAlgebraScalar>(to _: Other.Type = Other.self) -> SparseColumns<Other> {
        let count = values.count
        let workers = count >= 1 << 20 ? BLAS.threads : 1
        let convertedValues = [Other](unsafeUninitializedCapacity: count) { out, initialized in
            values.withUnsafeBufferPointer { source in
                let (out, source) = (out, source)
                concurrently(workers: workers) { w in
                    for entry in (count * w / workers)..<(count * (w + 1) / workers) { out[entry] = Other(source[entry]) }
                }
            }
            initialized = count
        }
        return SparseColumns<Other>(rows: rows, columns: columns, columnStarts: columnStarts, rowIndices: rowIndices,
                                    values: convertedValues)
    }

    /// The same matrix, dense.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func dense() -> Matrix<Scalar> {
        var result = Matrix<Scalar>(rows: rows, columns: columns)
        for j in 0..<columns {
            for entry in columnStarts[j]..<columnStarts[j + 1] {
                result.storage[Int(rowIndices[entry]) + j * rows] += values[entry]
            }
        }
        return result
    }
}

extension Matrix {
    /// `D · S` for a dense r x p matrix D and a sparse p x q matrix S, as a dense r x q matrix.
    ///
    /// Costs 2·r·nnz(S) flops, bound by memory traffic rather than arithmetic. Two kernels
    /// compute it, each on panels of h rows of D; this picks the faster:
    /// - gathering (`gatherProduct`): column j of the result sums the columns of D named by
    ///   column j of S, read from a packed copy of the panel swept in cache-sized blocks that
    ///   the threads share, each thread summing its own range of S's columns;
    /// - scattering (`scatterProduct`, over Sᵀ): each column of D, read once in order, is
    ///   added into the result columns it contributes to. It wins when the result fits one
    ///   cached block and D does not (LSI: 100,000 terms into a chunk of 20,000 documents,
    ///   0.19 s against 0.26 s for 500 rows); gathering wins otherwise (both sides large, or
    ///   D small).
    /// `transpose`, when the caller already has Sᵀ, saves computing it for the scatter.
    public static func product(_ dense: Matrix, _ sparse: SparseColumns<Scalar>,
                               transpose: SparseColumns<Scalar>? = nil) -> Matrix {
        precondition(dense.columns == sparse.rows, "dense x sparse: inner dimensions \(dense.columns) and \(sparse.rows) differ")
        if scatters(sparse) {
            let transposed = transpose ?? sparse.transposed()
            precondition(transposed.rows == sparse.columns && transposed.columns == sparse.rows, "the transpose has the wrong shape")
            return scatterProduct(dense, transposed)
        }
        let rows = dense.rows, height = Scalar.panelHeights.tall
        return gatherProduct(dense, sparse, panelHeight: height, unscale: nil, kernel: Scalar.gatherKernel) { d, top, first, last, packed in
            Scalar.packKernel(d, rows, top, height, first, last, packed)
        }
    }

    /// `D · Sᵀ` for a dense r x p matrix D and a sparse q x p matrix S, as a dense r x q
    /// matrix, always by the scattering kernel (see `product(_:_:transpose:)`).
    public static func product(_ dense: Matrix, transposed sparse: SparseColumns<Scalar>) -> Matrix {
        precondition(dense.columns == sparse.columns, "dense x sparseᵀ: inner dimensions \(dense.columns) and \(sparse.columns) differ")
        return scatterProduct(dense, sparse)
    }

    /// `D̃ · S` for a Float32 D, where D̃ is D with every value rounded to half precision
    /// (11 significant bits) after its row is scaled by a power of two that brings the row's
    /// largest magnitude into [2^14, 2^15), and scaled back: each value of D to at most 2^-11
    /// of its row's largest, none overflows, and every sum is then as exact as `product`'s.
    /// For products that only steer an iteration (the power iterations of a randomized SVD):
    /// the gathering kernel moves a quarter of the bytes of a Float64 D. Where scattering is
    /// faster (`product(_:_:transpose:)`) D is used as it is, in the result's type.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public static func steeringProduct(_ dense: Matrix<Float>, _ sparse: SparseColumns<Scalar>,
                                       transpose: SparseColumns<Scalar>? = nil) -> Matrix {
        precondition(dense.columns == sparse.rows, "dense x sparse: inner dimensions \(dense.columns) and \(sparse.rows) differ")
        if scatters(sparse) { return product(dense.converted(to: Scalar.self), sparse, transpose: transpose) }
        let rows = dense.rows, height = Scalar.panelHeights.tall
        let (scales, unscale) = halfPrecisionScales(dense, panelHeight: height, as: Scalar.self)
        return scales.withUnsafeBufferPointer { scales in
            let scales = scales
            return gatherProduct(dense, sparse, panelHeight: height, unscale: unscale, kernel: Scalar.halfGatherKernel) {
                d, top, first, last, packed in
                // Both point at the panel's first row's scale; the unscaled sums at the kernel's.
                latent_pack_panel_halves(d, rows, top, height, first, last, scales.baseAddress! + top, packed)
            }
        }
    }
}

extension Matrix where Scalar == Double {
    /// `D · S` for a Float32 D: the bits of `product(D converted to Float64, S, transpose:)`.
    /// Where the gathering kernel is the faster, it converts D's values as it loads them, so
    /// it moves half the bytes of D and makes no Float64 copy of it.
    public static func product(_ dense: Matrix<Float>, _ sparse: SparseColumns<Double>,
                               transpose: SparseColumns<Double>? = nil) -> Matrix {
        precondition(dense.columns == sparse.rows, "dense x sparse: inner dimensions \(dense.columns) and \(sparse.rows) differ")
        if scatters(sparse) { return product(dense.converted(to: Double.self), sparse, transpose: transpose) }
        let rows = dense.rows, height = Int(LATENT_PANEL_HEIGHT_F64)
        return gatherProduct(dense, sparse, panelHeight: height, unscale: nil, kernel: latent_gather_block_floats_f64) {
            d, top, first, last, packed in
            latent_pack_panel_f32(d, rows, top, height, first, last, packed)
        }
    }
}

/// The scales of `Matrix.steeringProduct`, padded to whole panels of `panelHeight` rows with
/// ones: for each row of D, 2^(14 − e) for its largest magnitude m = 1.x · 2^e (so m scaled is
/// in [2^14, 2^15)), within [2^-126, 2^126] so that it and its inverse are normal Float32
/// values (a row below 2^-112 loses its smallest values to zero); 1 for a row of zeros.
/// The maxima are found on `BLAS.threads` threads, each over a range of columns; the largest
/// of theirs is the same whatever the split.
func halfPrecisionScales<Scalar: LinearAlgebraScalar>(_ dense: Matrix<Float>, panelHeight: Int, as _: Scalar.Type)
    -> (scales: [Float], unscale: [Scalar]) {
    let r = dense.rows, p = dense.columns
    let workers = r * p >= 1 << 20 ? max(1, min(BLAS.threads, p)) : 1
    var maxima = [Float](repeating: 0, count: workers * r)
    dense.storage.withUnsafeBufferPointer { d in
        maxima.withUnsafeMutableBufferPointer { maxima in
            let (d, maxima) = (d, maxima)
            concurrently(workers: workers) { w in
                latent_row_magnitudes_f32(d.baseAddress!, r, p * w / workers, p * (w + 1) / workers, maxima.baseAddress! + w * r)
            }
        }
    }
    let padded = (r + panelHeight - 1) / panelHeight * panelHeight
    var scales = [Float](repeating: 1, count: padded), unscale = [Scalar](repeating: 1, count: padded)
    for row in 0..<r {
        var largest: Float = 0
        for w in 0..<workers { largest = max(largest, maxima[w * r + row]) }
        guard largest > 0 && largest.isFinite else { continue }
        let shift = min(126, max(-126, 14 - Int(largest.exponent)))
        scales[row] = Float(sign: .plus, exponent: shift, significand: 1)
        unscale[row] = Scalar(Float(sign: .plus, exponent: -shift, significand: 1))
    }
    return (scales, unscale)
}

/// Whether `D · S` is faster by scattering (through Sᵀ) than by gathering: when the result
/// fits one cached block and D does not (see `Matrix.product(_:_:transpose:)`).
private func scatters<Scalar: LinearAlgebraScalar>(_ sparse: SparseColumns<Scalar>) -> Bool {
    sparse.rows > blockWidth && sparse.columns <= blockWidth
}

/// The panels of a scattering product of `rows` rows, worker by worker: each worker takes a contiguous
/// range of rows, about an equal share ending on a multiple of the narrow height, in the
/// type's tall panels (eight vectors of accumulators: 32 Float64 or 64 Float32 values) with
/// narrow ones for what is left (300 Float32 rows on 2 threads: 64 + 64 + 32 against
/// 64 + 64 + 12, three passes over the sparse side each, where round-robin 32-row panels took
/// five). A panel's height is what is left of the rows below it, up to its kernel's, so no
/// panel reaches into the next worker's range. The same bits however the rows are split.
package func panelPlan<Scalar: LinearAlgebraScalar>(_: Scalar.Type, rows: Int) -> [[(top: Int, narrow: Bool)]] {
    let (tall, narrow) = Scalar.panelHeights
    let workers = max(1, min(BLAS.threads, (rows + narrow - 1) / narrow))
    var plan: [[(top: Int, narrow: Bool)]] = []
    var top = 0
    for worker in 0..<workers {
        let share = rows * (worker + 1) / workers
        let end = worker == workers - 1 ? rows : min(rows, (share + narrow - 1) / narrow * narrow)
        var panels: [(top: Int, narrow: Bool)] = []
        while top < end {
            // A tall panel where one fits in the range (the last range may end inside one).
            let fits = end - top >= tall || (end == rows && end - top > narrow)
            panels.append((top, tall != narrow && !fits))
            top += fits ? tall : narrow
        }
        if !panels.isEmpty { plan.append(panels) }
    }
    return plan
}

/// Columns of the cached side handled at a time (a gather's packed panel, shared by the
/// threads; a scatter's accumulator, one per thread): 32,768 x 32 Float64 values (or x 64
/// Float32 values) are 8 MiB, which stays in the last-level cache. Larger sides are swept in
/// blocks.
private let blockWidth = 32_768

/// Runs `body(top, narrow, worker)` for every panel of `plan`, each worker's panels on a
/// thread of its own. Panels write disjoint rows of the result; the plan has at most
/// `BLAS.threads` workers (the executor sets that to 1 while jobs run side by side, and to
/// every core for a job that runs alone). `worker` selects the caller's per-thread scratch.
@inline(__always)
private func forEachPanel(_ plan: [[(top: Int, narrow: Bool)]], _ body: (_ top: Int, _ narrow: Bool, _ worker: Int) -> Void) {
    concurrently(workers: plan.count) { worker in
        for panel in plan[worker] { body(panel.top, panel.narrow, worker) }
    }
}

/// Runs `body(worker)` for every worker below `workers` on threads of their own, and returns
/// when all have. For kernels whose workers write disjoint parts of their result through
/// raw pointers, which the compiler cannot prove safe to share.
@inline(__always)
public func concurrently(workers: Int, _ body: (_ worker: Int) -> Void) {
    if workers <= 1 {
        body(0)
        return
    }
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in shared.value(worker) }
    }
}

/// `concurrently` for a body that throws: every worker runs to its end, then the error of
/// the lowest-numbered worker that failed is thrown, whatever the timing (for workers over
/// consecutive parts of one job, the first error in order).
public func concurrentlyThrowing(workers: Int, _ body: (_ worker: Int) throws -> Void) throws {
    let failures = Mutex<[Int: any Error]>([:])
    concurrently(workers: workers) { worker in
        do { try body(worker) } catch { failures.withLock { $0[worker] = error } }
    }
    if let first = failures.withLock({ $0.min { $0.key < $1.key } }) { throw first.value }
}

/// Hands a value the compiler cannot prove thread-safe to `concurrentPerform`.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// `D · S` by gathering, in panels of `panelHeight` rows of D. Each panel is packed block by
/// block (`pack(d, top, first, last, packed)`: columns first..<last, by every thread), and
/// each block (`blockWidth` columns: 8 MiB of Float64 or Float32 values, 4 MiB of halves) is
/// then gathered by the threads together: each sums its own range of S's columns (about
/// equal entry counts), reading the one packed block they share in the last-level cache.
/// Every result column is summed by one thread, block by block in the order of its entries,
/// whatever the number of threads or the packed type: the same bits as from D converted to
/// the packed type first. `unscale` (`panelHeight`-padded, one per row) is handed to the
/// kernel at the panel's first row.
@_specialize(where Dense == Double, Packed == Double, Scalar == Double)
@_specialize(where Dense == Float, Packed == Float, Scalar == Float)
@_specialize(where Dense == Float, Packed == Float, Scalar == Double)
@_specialize(where Dense == Float, Packed == UInt16, Scalar == Float)
@_specialize(where Dense == Float, Packed == UInt16, Scalar == Double)
func gatherProduct<Dense: LinearAlgebraScalar, Packed: Numeric, Scalar: LinearAlgebraScalar>(
    _ dense: Matrix<Dense>, _ sparse: SparseColumns<Scalar>, panelHeight height: Int, unscale: [Scalar]?,
    kernel: GatherKernel<Packed, Scalar>,
    pack: (_ dense: UnsafePointer<Dense>, _ top: Int, _ first: Int, _ last: Int, _ packed: UnsafeMutablePointer<Packed>) -> Void
) -> Matrix<Scalar> {
    let r = dense.rows, p = dense.columns, q = sparse.columns
    var result = Matrix<Scalar>(rows: r, columns: q)
    if r == 0 || q == 0 || p == 0 || sparse.nonZeroCount == 0 { return result }
    let workers = max(1, min(BLAS.threads, q))
    let ranges = sparse.columnRanges(workers)
    let block = min(p, blockWidth)
    let factors = unscale ?? [Scalar](repeating: 1, count: (r + height - 1) / height * height)
    factors.withUnsafeBufferPointer { factors in
        let factors = factors.baseAddress!
        withKernelBuffers(dense, sparse, into: &result, scratch: block * height, of: Packed.self, cursors: q) { buffers in
            for top in stride(from: 0, to: r, by: height) {
                for first in stride(from: 0, to: p, by: block) {
                    let last = min(first + block, p), width = last - first
                    concurrently(workers: workers) { w in
                        let from = first + width * w / workers, to = first + width * (w + 1) / workers
                        if from < to { pack(buffers.dense, top, from, to, buffers.scratch + (from - first) * height) }
                    }
                    concurrently(workers: workers) { w in
                        guard ranges[w] < ranges[w + 1] else { return }
                        kernel(buffers.scratch, first, last, r, top, buffers.starts, buffers.indices, buffers.values, buffers.out,
                               ranges[w], ranges[w + 1], buffers.cursors, factors + top)
                    }
                }
            }
        }
    }
    return result
}

/// `D · Sᵀ` by scattering: for each panel of h rows of D, a q x h accumulator receives,
/// for every entry (j, i, v) of S, v times the h values of column i of D; then it is
/// copied into the result. D's columns are read in order (the C kernel `latent_scatter_panel`).
@_specialize(where Scalar == Double)
@_specialize(where Scalar == Float)
func scatterProduct<Scalar: LinearAlgebraScalar>(_ dense: Matrix<Scalar>, _ sparse: SparseColumns<Scalar>) -> Matrix<Scalar> {
    let r = dense.rows, p = dense.columns, q = sparse.rows
    var result = Matrix<Scalar>(rows: r, columns: q)
    if r == 0 || q == 0 || p == 0 || sparse.nonZeroCount == 0 { return result }
    let plan = panelPlan(Scalar.self, rows: r)
    let kernels = (tall: Scalar.scatterKernel(narrow: false), narrow: Scalar.scatterKernel(narrow: true))
    let workers = plan.count
    let block = min(q, blockWidth)
    let scratch = Scalar.panelHeights.tall * (block + 1)
    withKernelBuffers(dense, sparse, into: &result, scratch: workers * scratch, of: Scalar.self, cursors: workers * p) { buffers in
        forEachPanel(plan) { top, narrow, worker in
            (narrow ? kernels.narrow : kernels.tall)(buffers.dense, r, p, q, buffers.starts, buffers.indices, buffers.values, buffers.out, top,
                                                     buffers.scratch + worker * scratch, block, buffers.cursors + worker * p)
        }
    }
    return result
}

/// The raw buffers one kernel call works on; the scratch space (a gather's packed panel, a
/// scatter's accumulator) holds values of type `Scratch`.
private struct KernelBuffers<Dense, Scalar, Scratch> {
    let dense: UnsafePointer<Dense>
    let starts: UnsafePointer<Int>
    let indices: UnsafePointer<Int32>
    let values: UnsafePointer<Scalar>
    let out: UnsafeMutablePointer<Scalar>
    let scratch: UnsafeMutablePointer<Scratch>
    let cursors: UnsafeMutablePointer<Int>
}

/// Opens the operands, the result and fresh scratch space (`scratch` values, `cursors`
/// positions) for a kernel. Callers have checked that every dimension and the entry count
/// are positive, so every buffer has a base address.
@inline(__always)
private func withKernelBuffers<Dense: LinearAlgebraScalar, Scalar: LinearAlgebraScalar, Scratch: Numeric>(
    _ dense: Matrix<Dense>, _ sparse: SparseColumns<Scalar>, into result: inout Matrix<Scalar>,
    scratch scratchCount: Int, of _: Scratch.Type, cursors cursorCount: Int, _ body: (KernelBuffers<Dense, Scalar, Scratch>) -> Void
) {
    var scratch = [Scratch](repeating: 0, count: scratchCount)
    var cursors = [Int](repeating: 0, count: cursorCount)
    dense.storage.withUnsafeBufferPointer { denseBuffer in
        sparse.columnStarts.withUnsafeBufferPointer { starts in
            sparse.rowIndices.withUnsafeBufferPointer { indices in
                sparse.values.withUnsafeBufferPointer { values in
                    result.storage.withUnsafeMutableBufferPointer { out in
                        scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                            cursors.withUnsafeMutableBufferPointer { cursorBuffer in
                                guard let d = denseBuffer.baseAddress, let o = out.baseAddress,
                                      let s = starts.baseAddress, let i = indices.baseAddress, let v = values.baseAddress,
                                      let work = scratchBuffer.baseAddress, let positions = cursorBuffer.baseAddress
                                else { return }
                                body(KernelBuffers(dense: d, starts: s, indices: i, values: v, out: o,
                                                   scratch: work, cursors: positions))
                            }
                        }
                    }
                }
            }
        }
    }
}
