import Dispatch
import LatentKernels
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
        // Column ranges of about equal entry counts.
        var bounds = [0]
        for w in 1..<workers {
            let target = nonZeroCount * w / workers
            var column = bounds[w - 1]
            while column < columns && columnStarts[column] < target { column += 1 }
            bounds.append(column)
        }
        bounds.append(columns)
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
    /// compute it, each on panels of h rows of D (`panelPlan(_:rows:)`); this picks the faster:
    /// - gathering (`gatherProduct`): column j of the result sums the columns of D named by
    ///   column j of S, read from a packed copy of D swept in cache-sized blocks;
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
        return gatherProduct(dense, sparse)
    }

    /// `D · Sᵀ` for a dense r x p matrix D and a sparse q x p matrix S, as a dense r x q
    /// matrix, always by the scattering kernel (see `product(_:_:transpose:)`).
    public static func product(_ dense: Matrix, transposed sparse: SparseColumns<Scalar>) -> Matrix {
        precondition(dense.columns == sparse.columns, "dense x sparseᵀ: inner dimensions \(dense.columns) and \(sparse.columns) differ")
        return scatterProduct(dense, sparse)
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
        return gatherProduct(dense, sparse, plan: panelPlan(Double.self, rows: dense.rows), panelHeight: Int(LATENT_PANEL_HEIGHT_F64),
                             kernels: (latent_gather_panel_mixed_f64, latent_gather_panel_mixed_f64))
    }
}

/// Whether `D · S` is faster by scattering (through Sᵀ) than by gathering: when the result
/// fits one cached block and D does not (see `Matrix.product(_:_:transpose:)`).
private func scatters<Scalar: LinearAlgebraScalar>(_ sparse: SparseColumns<Scalar>) -> Bool {
    sparse.rows > blockWidth && sparse.columns <= blockWidth
}

/// The panels of a product of `rows` rows, worker by worker: each worker takes a contiguous
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

/// Columns of the cached side (the packed panel of a gather, the accumulator of a scatter)
/// handled at a time: 32,768 x 32 Float64 values (or x 64 Float32 values) are 8 MiB, which
/// stays in the last-level cache with one such block per thread. Larger sides are swept in
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

/// Hands a value the compiler cannot prove thread-safe to `concurrentPerform`.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// `D · S` by gathering: for each panel of h rows of D, those rows are first copied into a
/// contiguous p x h block, then every column of S accumulates its entries' h-value pieces
/// in registers and adds them to the result once (the C kernel `latent_gather_panel`).
@_specialize(where Scalar == Double)
@_specialize(where Scalar == Float)
func gatherProduct<Scalar: LinearAlgebraScalar>(_ dense: Matrix<Scalar>, _ sparse: SparseColumns<Scalar>) -> Matrix<Scalar> {
    gatherProduct(dense, sparse, plan: panelPlan(Scalar.self, rows: dense.rows), panelHeight: Scalar.panelHeights.tall,
                  kernels: (Scalar.panelKernels(narrow: false).gather, Scalar.panelKernels(narrow: true).gather))
}

/// The gathering product over the panels of `plan`, by `kernels.tall` and `kernels.narrow`;
/// `panelHeight` is the taller of their heights, for the scratch space.
@_specialize(where Dense == Double, Scalar == Double)
@_specialize(where Dense == Float, Scalar == Float)
@_specialize(where Dense == Float, Scalar == Double)
func gatherProduct<Dense: LinearAlgebraScalar, Scalar: LinearAlgebraScalar>(
    _ dense: Matrix<Dense>, _ sparse: SparseColumns<Scalar>, plan: [[(top: Int, narrow: Bool)]], panelHeight: Int,
    kernels: (tall: GatherKernel<Dense, Scalar>, narrow: GatherKernel<Dense, Scalar>)
) -> Matrix<Scalar> {
    let r = dense.rows, p = dense.columns, q = sparse.columns
    var result = Matrix<Scalar>(rows: r, columns: q)
    if r == 0 || q == 0 || p == 0 || sparse.nonZeroCount == 0 { return result }
    let workers = plan.count
    let block = min(p, blockWidth)
    withKernelBuffers(dense, sparse, into: &result, scratch: workers * panelHeight * block, cursors: workers * q) { buffers in
        forEachPanel(plan) { top, narrow, worker in
            (narrow ? kernels.narrow : kernels.tall)(buffers.dense, r, p, q, buffers.starts, buffers.indices, buffers.values, buffers.out, top,
                                                     buffers.scratch + worker * panelHeight * block, block, buffers.cursors + worker * q)
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
    let kernels = (tall: Scalar.panelKernels(narrow: false).scatter, narrow: Scalar.panelKernels(narrow: true).scatter)
    let workers = plan.count
    let block = min(q, blockWidth)
    let scratch = Scalar.panelHeights.tall * (block + 1)
    withKernelBuffers(dense, sparse, into: &result, scratch: workers * scratch, cursors: workers * p) { buffers in
        forEachPanel(plan) { top, narrow, worker in
            (narrow ? kernels.narrow : kernels.tall)(buffers.dense, r, p, q, buffers.starts, buffers.indices, buffers.values, buffers.out, top,
                                                     buffers.scratch + worker * scratch, block, buffers.cursors + worker * p)
        }
    }
    return result
}

/// The raw buffers one kernel call works on; the scratch space holds values of D's type.
private struct KernelBuffers<Dense, Scalar> {
    let dense: UnsafePointer<Dense>
    let starts: UnsafePointer<Int>
    let indices: UnsafePointer<Int32>
    let values: UnsafePointer<Scalar>
    let out: UnsafeMutablePointer<Scalar>
    let scratch: UnsafeMutablePointer<Dense>
    let cursors: UnsafeMutablePointer<Int>
}

/// Opens the operands, the result and fresh scratch space (`scratch` values, `cursors`
/// positions) for a kernel. Callers have checked that every dimension and the entry count
/// are positive, so every buffer has a base address.
@inline(__always)
private func withKernelBuffers<Dense: LinearAlgebraScalar, Scalar: LinearAlgebraScalar>(
    _ dense: Matrix<Dense>, _ sparse: SparseColumns<Scalar>, into result: inout Matrix<Scalar>,
    scratch scratchCount: Int, cursors cursorCount: Int, _ body: (KernelBuffers<Dense, Scalar>) -> Void
) {
    var scratch = [Dense](repeating: 0, count: scratchCount)
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
