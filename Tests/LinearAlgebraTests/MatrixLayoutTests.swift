import LatentLinearAlgebra
import Testing

@Suite("matrix layouts")
struct MatrixLayoutTests {
    @Test("a matrix of millions of values filled on one to three threads holds the value everywhere, for counts that do not divide evenly")
    func threadedFill() {
        let threads = BLAS.threads
        defer { BLAS.threads = threads }
        for threadCount in 1...3 {
            BLAS.threads = threadCount
            for (rows, columns) in [(1_000, 1_049), (3, 699_051)] {
                let matrix = Matrix<Float>(rows: rows, columns: columns, repeating: 2.5)
                #expect(matrix.storage.count == rows * columns)
                #expect(matrix.storage.allSatisfy { $0 == 2.5 }, "\(rows)x\(columns) on \(threadCount) threads")
                let zeros = Matrix<Double>(rows: rows, columns: columns)
                #expect(zeros.storage.allSatisfy { $0 == 0 }, "\(rows)x\(columns) on \(threadCount) threads")
            }
        }
    }

    @Test("row-major values (NumPy's C order) give the matrix they describe, and transposed() storage gives them back")
    func rowMajor() {
        let values: [Double] = [1, 2, 3, 4, 5, 6]
        let m = Matrix(rows: 2, columns: 3, rowMajor: values)
        #expect(m == Matrix([[1, 2, 3], [4, 5, 6]]))
        #expect(m.transposed().storage == values)
        #expect(Matrix<Float>(rows: 0, columns: 4, rowMajor: []).columns == 4)
    }

    @Test("converted(to:) between Float64 and Float32 rounds to nearest, ties to even, keeps the shape, signed zeros, infinities and NaN, and is exact back")
    func converted() {
        let ulp = Double(Float.ulpOfOne)
        // 0.1; halfway between 1 and the next Float (to even: 1); just above halfway (up);
        // past Float's range (infinity); below its smallest subnormal's half (a signed zero).
        let doubles: [Double] = [0.1, 1 + ulp / 2, 1 + ulp / 2 + ulp / 8, 1e39, -1e39, -1e-50, 0, .infinity, .nan, 3]
        let matrix = Matrix(rows: 2, columns: 5, columnMajor: doubles)
        let single = matrix.converted(to: Float.self)
        #expect(single.rows == 2 && single.columns == 5)
        let expected: [UInt32] = [0x3DCC_CCCD, 0x3F80_0000, 0x3F80_0001, 0x7F80_0000, 0xFF80_0000, 0x8000_0000, 0, 0x7F80_0000]
        #expect(Array(single.storage.prefix(8).map(\.bitPattern)) == expected)
        #expect(single.storage[8].isNaN && single.storage[9] == 3)
        let back = single.converted(to: Double.self)
        #expect(back.rows == 2 && back.columns == 5)
        #expect(zip(back.storage, single.storage).allSatisfy { $0.isNaN ? $1.isNaN : Float($0) == $1 && $0 == Double($1) })
        #expect(back.storage[0] == Double(Float(0.1)) && back.storage[0] != 0.1)
        #expect(matrix.converted(to: Double.self).storage.prefix(8) == doubles.prefix(8))
    }

    @Test("isFinite is false for a NaN or an infinity in any place, Float64 and Float32, and true otherwise")
    func finite() {
        var values = (0..<1000).map { Double($0) - 500 }
        #expect(Matrix(rows: 10, columns: 100, columnMajor: values).isFinite)
        #expect(Matrix(rows: 10, columns: 100, columnMajor: values).converted(to: Float.self).isFinite)
        for place in [0, 517, 999] {
            for bad in [Double.nan, .infinity, -.infinity] {
                values[place] = bad
                let matrix = Matrix(rows: 10, columns: 100, columnMajor: values)
                #expect(!matrix.isFinite && !matrix.converted(to: Float.self).isFinite, "\(bad) at \(place)")
                values[place] = 1
            }
        }
        // A Float64 value past Float32's range is finite, and infinite once converted.
        values[3] = 1e300
        #expect(Matrix(rows: 10, columns: 100, columnMajor: values).isFinite)
        #expect(!Matrix(rows: 10, columns: 100, columnMajor: values).converted(to: Float.self).isFinite)
    }
}
