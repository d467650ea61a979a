/// A sparse matrix in compressed sparse column form (CSC): column j holds the entries
/// `rowIndices[columnStarts[j] ..< columnStarts[j + 1]]` with the matching `values`, row
/// indices ascending within a column.
///
/// This is the linear-algebra view of a chunk of documents (terms x documents); its one
/// heavy operation is the dense x sparse product `Matrix.product(_:_:)`. The transpose
/// (`transposed()`, a counting sort costing one pass over the entries) turns the same kernel
/// into a product with Aᵀ.
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
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func transposed() -> SparseColumns {
        var starts = [Int](repeating: 0, count: rows + 1)
        for row in rowIndices { starts[Int(row) + 1] += 1 }
        for i in 0..<rows { starts[i + 1] += starts[i] }
        var next = starts
        var indices = [Int32](repeating: 0, count: nonZeroCount)
        var transposedValues = [Scalar](repeating: 0, count: nonZeroCount)
        for j in 0..<columns {
            for entry in columnStarts[j]..<columnStarts[j + 1] {
                let row = Int(rowIndices[entry])
                indices[next[row]] = Int32(j)
                transposedValues[next[row]] = values[entry]
                next[row] += 1
            }
        }
        return SparseColumns(rows: columns, columns: rows, columnStarts: starts, rowIndices: indices, values: transposedValues)
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
    /// Column j of the result gathers the columns of D named by the entries of column j of S,
    /// so the cost is 2·r·nnz(S) flops, bound by memory traffic rather than arithmetic. The
    /// kernel works on panels of 32 rows of D packed contiguously, which keeps every gathered
    /// piece within a few cache lines (see `gatherProduct`).
    public static func product(_ dense: Matrix, _ sparse: SparseColumns<Scalar>) -> Matrix {
        precondition(dense.columns == sparse.rows, "dense x sparse: inner dimensions \(dense.columns) and \(sparse.rows) differ")
        return Scalar.denseTimesSparse(dense, sparse)
    }
}

// The conformances' entries to the kernel live in this file: without whole-module
// optimisation (debug builds) a generic function is specialised only within its own file.
extension Double {
    public static func denseTimesSparse(_ dense: Matrix<Double>, _ sparse: SparseColumns<Double>) -> Matrix<Double> {
        gatherProduct(dense, sparse)
    }
}

extension Float {
    public static func denseTimesSparse(_ dense: Matrix<Float>, _ sparse: SparseColumns<Float>) -> Matrix<Float> {
        gatherProduct(dense, sparse)
    }
}

/// Rows of D handled per sweep over the sparse entries: 32 values are 4 (Float) or 8
/// (Double) 32-byte vectors, few enough to stay in registers as accumulators.
private let panelHeight = 32

/// The dense x sparse product, written once and specialised per scalar type by the
/// `LinearAlgebraScalar` conformances.
///
/// Hot path: a plain loop over unsafe buffers. For each panel of 32 rows of D, those rows
/// are first copied into a contiguous p x 32 block (one pass over D), then every column of S
/// accumulates its entries' 32-value pieces in four SIMD registers and stores them once.
@inline(__always)
func gatherProduct<Scalar: LinearAlgebraScalar & SIMDScalar>(
    _ dense: Matrix<Scalar>, _ sparse: SparseColumns<Scalar>
) -> Matrix<Scalar> {
    let r = dense.rows, p = dense.columns, q = sparse.columns
    var result = Matrix<Scalar>(rows: r, columns: q)
    if r == 0 || q == 0 || p == 0 || sparse.nonZeroCount == 0 { return result }
    var panel = [Scalar](repeating: 0, count: panelHeight * p)
    let stride = MemoryLayout<Scalar>.stride
    dense.storage.withUnsafeBufferPointer { denseBuffer in
        sparse.columnStarts.withUnsafeBufferPointer { starts in
            sparse.rowIndices.withUnsafeBufferPointer { indices in
                sparse.values.withUnsafeBufferPointer { values in
                    result.storage.withUnsafeMutableBufferPointer { out in
                        panel.withUnsafeMutableBufferPointer { packed in
                            // All buffers are non-empty here (r, p, q and nnz are positive).
                            guard let d = denseBuffer.baseAddress, let o = out.baseAddress,
                                  let block = packed.baseAddress else { return }
                            let raw = UnsafeRawPointer(block)
                            var top = 0
                            while top < r {
                                let height = min(panelHeight, r - top)
                                for i in 0..<p {
                                    let source = d + top + i * r
                                    let target = block + i * panelHeight
                                    for t in 0..<height { target[t] = source[t] }
                                    for t in height..<panelHeight { target[t] = 0 }
                                }
                                for j in 0..<q {
                                    var a0 = SIMD8<Scalar>(), a1 = SIMD8<Scalar>()
                                    var a2 = SIMD8<Scalar>(), a3 = SIMD8<Scalar>()
                                    for entry in starts[j]..<starts[j + 1] {
                                        let v = SIMD8<Scalar>(repeating: values[entry])
                                        let piece = raw + Int(indices[entry]) * panelHeight * stride
                                        a0 += v * piece.loadUnaligned(as: SIMD8<Scalar>.self)
                                        a1 += v * piece.loadUnaligned(fromByteOffset: 8 * stride, as: SIMD8<Scalar>.self)
                                        a2 += v * piece.loadUnaligned(fromByteOffset: 16 * stride, as: SIMD8<Scalar>.self)
                                        a3 += v * piece.loadUnaligned(fromByteOffset: 24 * stride, as: SIMD8<Scalar>.self)
                                    }
                                    let target = o + top + j * r
                                    if height == panelHeight {
                                        let rawTarget = UnsafeMutableRawPointer(target)
                                        rawTarget.storeBytes(of: a0, as: SIMD8<Scalar>.self)
                                        rawTarget.storeBytes(of: a1, toByteOffset: 8 * stride, as: SIMD8<Scalar>.self)
                                        rawTarget.storeBytes(of: a2, toByteOffset: 16 * stride, as: SIMD8<Scalar>.self)
                                        rawTarget.storeBytes(of: a3, toByteOffset: 24 * stride, as: SIMD8<Scalar>.self)
                                    } else {
                                        for t in 0..<height {
                                            target[t] = t < 8 ? a0[t] : t < 16 ? a1[t - 8] : t < 24 ? a2[t - 16] : a3[t - 24]
                                        }
                                    }
                                }
                                top += panelHeight
                            }
                        }
                    }
                }
            }
        }
    }
    return result
}
