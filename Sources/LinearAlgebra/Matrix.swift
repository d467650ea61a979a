/// A dense, column-major matrix of `Double` or `Float`: the operand of every BLAS and LAPACK
/// call in Latent.
///
/// Element (i, j) lives at `storage[i + j * rows]`, as LAPACK expects with a leading
/// dimension of `rows`. The type is a value (copy-on-write through its array), so a matrix
/// handed to another task cannot change under it.
///
/// Shapes passed to the initialisers and operations are the caller's (the program's)
/// responsibility and are checked with `precondition`: sizes that come from files or the
/// network must be validated before a matrix is built from them.
public struct Matrix<Scalar: LinearAlgebraScalar>: Sendable, Equatable {
    public private(set) var rows: Int
    public private(set) var columns: Int
    /// The elements, column after column.
    public var storage: [Scalar]

    /// A `rows` x `columns` matrix filled with `value`.
    ///
    /// Above a million elements the filling runs on `BLAS.threads` threads, each over a
    /// contiguous range: it is what first touches the matrix's fresh pages, and the kernel's
    /// work of zeroing and mapping them (a gigabyte a second or less on a virtual machine)
    /// then happens on every core instead of one. Specialised: a generic fill copies element by
    /// element through the type's value witnesses, several times slower.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && columns >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        let count = rows * columns
        let workers = count >= 1 << 20 ? BLAS.threads : 1
        if workers <= 1 {
            storage = Array(repeating: value, count: count)
            return
        }
        storage = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            let buffer = buffer
            concurrently(workers: workers) { w in
                let range = (count * w / workers)..<(count * (w + 1) / workers)
                (buffer.baseAddress! + range.lowerBound).initialize(repeating: value, count: range.count)
            }
            initialized = count
        }
    }

    /// A matrix over existing column-major storage; `storage.count` must be `rows * columns`.
    public init(rows: Int, columns: Int, columnMajor storage: [Scalar]) {
        precondition(rows >= 0 && columns >= 0 && storage.count == rows * columns,
                     "storage holds \(storage.count) elements, a \(rows)x\(columns) matrix needs \(rows * columns)")
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    /// A matrix from row-major values (NumPy's C order); `values.count` must be `rows * columns`.
    public init(rows: Int, columns: Int, rowMajor values: [Scalar]) {
        self = Matrix(rows: columns, columns: rows, columnMajor: values).transposed()
    }

    /// A matrix from rows written out as nested arrays (for tests and small examples).
    public init(_ rowArrays: [[Scalar]]) {
        let rowCount = rowArrays.count
        let columnCount = rowArrays.first?.count ?? 0
        precondition(rowArrays.allSatisfy { $0.count == columnCount }, "rows of unequal length")
        var storage = [Scalar](repeating: 0, count: rowCount * columnCount)
        for (i, row) in rowArrays.enumerated() {
            for (j, value) in row.enumerated() { storage[i + j * rowCount] = value }
        }
        self.init(rows: rowCount, columns: columnCount, columnMajor: storage)
    }

    /// The `n` x `n` identity.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.storage[i + i * n] = 1 }
        return m
    }

    public subscript(row: Int, column: Int) -> Scalar {
        get { storage[row + column * rows] }
        set { storage[row + column * rows] = newValue }
    }

    public var isEmpty: Bool { rows == 0 || columns == 0 }

    /// The transpose, as a new matrix. Copies 32 x 32 tiles, so that reads and writes both
    /// stay within a few cache lines however large the matrix.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func transposed() -> Matrix {
        var result = Matrix(rows: columns, columns: rows)
        let tile = 32
        let m = rows, n = columns
        storage.withUnsafeBufferPointer { source in
            result.storage.withUnsafeMutableBufferPointer { target in
                for jStart in stride(from: 0, to: n, by: tile) {
                    let jEnd = min(jStart + tile, n)
                    for iStart in stride(from: 0, to: m, by: tile) {
                        let iEnd = min(iStart + tile, m)
                        for j in jStart..<jEnd {
                            for i in iStart..<iEnd { target[j + i * n] = source[i + j * m] }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Column `j` as an array.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func column(_ j: Int) -> [Scalar] {
        Array(storage[(j * rows)..<((j + 1) * rows)])
    }

    /// The first `count` columns.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func leadingColumns(_ count: Int) -> Matrix {
        precondition(count >= 0 && count <= columns)
        return Matrix(rows: rows, columns: count, columnMajor: Array(storage[0..<(rows * count)]))
    }

    /// The block of rows `rowRange` and columns `columnRange`.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public func submatrix(rows rowRange: Range<Int>, columns columnRange: Range<Int>) -> Matrix {
        precondition(rowRange.lowerBound >= 0 && rowRange.upperBound <= rows)
        precondition(columnRange.lowerBound >= 0 && columnRange.upperBound <= columns)
        var result = Matrix(rows: rowRange.count, columns: columnRange.count)
        for (jOut, j) in columnRange.enumerated() {
            let source = j * rows + rowRange.lowerBound
            let target = jOut * rowRange.count
            for i in 0..<rowRange.count { result.storage[target + i] = storage[source + i] }
        }
        return result
    }

    /// Whether every element is finite (no NaN, no infinity).
    public var isFinite: Bool { allFinite() }

    /// Over the concrete type where it is `Double` or `Float`, which a build that specialises
    /// nothing (a debug build) then also runs without a generic call per element.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    private func allFinite() -> Bool {
        if let values = storage as? [Double] {
            return values.withUnsafeBufferPointer { values in
                for value in values where !value.isFinite { return false }
                return true
            }
        }
        if let values = storage as? [Float] {
            return values.withUnsafeBufferPointer { values in
                for value in values where !value.isFinite { return false }
                return true
            }
        }
        return storage.allSatisfy { $0.isFinite }
    }

    /// The Frobenius norm, accumulated in `Double`.
    public var frobeniusNorm: Double {
        var sum = 0.0
        for value in storage { let v = Double(value); sum += v * v }
        return sum.squareRoot()
    }

    /// The element type changed, e.g. from `Double` to `Float`. Specialised: the generic
    /// conversion costs tens of nanoseconds per value, a second per 50 million. Between
    /// `Float` and `Double` (and to the same type) the concrete conversions run even where
    /// nothing is specialised (a debug build); they give the generic conversion's values.
    @_specialize(where Scalar == Double, Other == Float)
    @_specialize(where Scalar == Float, Other == Double)
    public func converted<Other: LinearAlgebraScalar>(to _: Other.Type = Other.self) -> Matrix<Other> {
        if let same = self as? Matrix<Other> { return same }
        if let doubles = storage as? [Double], let matrix = Matrix<Float>(rows: rows, columns: columns,
                                                                          columnMajor: Self.floats(doubles)) as? Matrix<Other> {
            return matrix
        }
        if let floats = storage as? [Float], let matrix = Matrix<Double>(rows: rows, columns: columns,
                                                                         columnMajor: Self.doubles(floats)) as? Matrix<Other> {
            return matrix
        }
        return Matrix<Other>(rows: rows, columns: columns, columnMajor: storage.map { Other($0) })
    }

    private static func floats(_ values: [Double]) -> [Float] {
        [Float](unsafeUninitializedCapacity: values.count) { out, count in
            values.withUnsafeBufferPointer { source in
                for i in 0..<source.count { out[i] = Float(source[i]) }
            }
            count = values.count
        }
    }

    private static func doubles(_ values: [Float]) -> [Double] {
        [Double](unsafeUninitializedCapacity: values.count) { out, count in
            values.withUnsafeBufferPointer { source in
                for i in 0..<source.count { out[i] = Double(source[i]) }
            }
            count = values.count
        }
    }
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        var lines: [String] = ["\(rows)x\(columns) matrix"]
        for i in 0..<min(rows, 8) {
            var cells: [String] = []
            for j in 0..<min(columns, 8) { cells.append("\(self[i, j])") }
            if columns > 8 { cells.append("...") }
            lines.append("  [" + cells.joined(separator: ", ") + "]")
        }
        if rows > 8 { lines.append("  ...") }
        return lines.joined(separator: "\n")
    }
}
