import LatentLinearAlgebra
import Testing

@Suite("matrix layouts")
struct MatrixLayoutTests {
    @Test("row-major values (NumPy's C order) give the matrix they describe, and transposed() storage gives them back")
    func rowMajor() {
        let values: [Double] = [1, 2, 3, 4, 5, 6]
        let m = Matrix(rows: 2, columns: 3, rowMajor: values)
        #expect(m == Matrix([[1, 2, 3], [4, 5, 6]]))
        #expect(m.transposed().storage == values)
        #expect(Matrix<Float>(rows: 0, columns: 4, rowMajor: []).columns == 4)
    }
}
