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
}
