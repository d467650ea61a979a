import LatentLinearAlgebra

// The portable encodings of the LSI computations (see `PortableComputation`): how their
// jobs run on a cluster's workers. Decoders check every bound, so a hostile payload gets
// an error naming its field rather than a crash or an absurd allocation.

private let maxTerms = Int(Int32.max)
private let maxSketch = 200_000

private func precisionName<Scalar: LinearAlgebraScalar>(_: Scalar.Type) -> String {
    Scalar.self == Float.self ? "float32" : "float64"
}

extension LSIProjection {
    func encode(into writer: inout PortableWriter) {
        writer.write(chunks)
        writer.write(documents)
        writer.write(array: singularValues)
        writer.write(basis)
    }

    /// Checks what `LSIProjection`'s invariants promise: non-negative, non-increasing
    /// singular values, one per basis row, and an orthonormal basis (in full when small,
    /// by row norms otherwise).
    static func decode(_ reader: inout PortableReader, termCount: Int) throws -> LSIProjection {
        let chunks = try reader.readInt("chunks", in: 0...Int(Int32.max))
        let documents = try reader.readInt("documents", in: 0...Int(Int64.max / 2))
        let values: [Scalar] = try reader.readArray("singular values", maxCount: maxSketch)
        for (i, value) in values.enumerated() where !(value.isFinite && value >= 0 && (i == 0 || value <= values[i - 1])) {
            throw reader.error("singular values", "finite, non-negative and non-increasing values, got \(value) at \(i)")
        }
        let basis: Matrix<Scalar> = try reader.readMatrix("basis", maxRows: maxSketch, maxColumns: maxTerms)
        guard basis.rows == values.count, basis.columns == termCount else {
            throw reader.error("basis", "\(values.count) x \(termCount) (factors x terms), got \(basis.rows) x \(basis.columns)")
        }
        let tolerance = Scalar(1e-3)
        if basis.rows * basis.rows * basis.columns <= 20_000_000 {
            let gram = Matrix.product(basis, basis, transposeB: true)
            for i in 0..<basis.rows {
                for j in 0..<basis.rows where Swift.abs(gram[i, j] - (i == j ? 1 : 0)) > tolerance {
                    throw reader.error("basis", "orthonormal rows, row \(i) . row \(j) = \(gram[i, j])")
                }
            }
        } else {
            // Row norms, accumulated column by column (the storage order).
            var norms = [Scalar](repeating: 0, count: basis.rows)
            basis.storage.withUnsafeBufferPointer { values in
                for j in 0..<basis.columns {
                    for i in 0..<basis.rows { norms[i] += values[i + j * basis.rows] * values[i + j * basis.rows] }
                }
            }
            if let i = norms.firstIndex(where: { Swift.abs($0 - 1) > tolerance }) {
                throw reader.error("basis", "rows of unit norm, row \(i) has squared norm \(norms[i])")
            }
        }
        return LSIProjection(basis: basis, singularValues: values, chunks: chunks, documents: documents)
    }
}

extension OnePassDecomposition: PortableComputation {
    public static var kind: String { "lsi.one-pass.\(precisionName(Scalar.self))" }
    public var termBound: Int { termCount }

    func encodeParameters(into writer: inout PortableWriter) {
        writer.write(termCount)
        writer.write(sketchSize)
        writer.write(keep)
        writer.write(powerIterations)
        writer.write(decay)
        writer.write(seed)
        writer.write(firstChunk)
    }

    init(parameters reader: inout PortableReader) throws {
        termCount = try reader.readInt("term count", in: 1...maxTerms)
        sketchSize = try reader.readInt("sketch size", in: 1...maxSketch)
        keep = try reader.readInt("factors kept", in: 1...maxSketch)
        powerIterations = try reader.readInt("power iterations", in: 0...100)
        decay = try reader.readDouble("decay")
        guard decay > 0, decay <= 1 else { throw reader.error("decay", "a value in (0, 1], got \(decay)") }
        seed = try reader.readUInt64("seed")
        firstChunk = try reader.readInt("first chunk", in: 0...Int(Int32.max))
    }

    func encode(_ state: LSIProjection<Scalar>, into writer: inout PortableWriter) { state.encode(into: &writer) }

    func decodeState(_ reader: inout PortableReader) throws -> LSIProjection<Scalar> {
        let state = try LSIProjection<Scalar>.decode(&reader, termCount: termCount)
        guard state.rank <= keep else { throw reader.error("basis", "at most \(keep) factors, got \(state.rank)") }
        return state
    }
}

extension MultiPassDecomposition.TermSum {
    func encode(into writer: inout PortableWriter) {
        writer.write(documents)
        writer.write(terms == nil ? 0 : 1)
        if let terms { writer.write(array: terms) }
        writer.write(values)
    }

    static func decode(_ reader: inout PortableReader, termCount: Int, rows: Int) throws -> Self {
        let documents = try reader.readInt("documents", in: 0...Int(Int64.max / 2))
        let restricted = try reader.readInt("term list flag", in: 0...1) == 1
        var terms: [Int32]?
        if restricted { terms = try reader.readTermList("terms", termCount: termCount) }
        let values: Matrix<Scalar> = try reader.readMatrix("sum", maxRows: maxSketch, maxColumns: maxTerms)
        let columns = terms?.count ?? termCount
        guard values.rows == rows, values.columns == columns else {
            throw reader.error("sum", "\(rows) x \(columns), got \(values.rows) x \(values.columns)")
        }
        return Self(terms: terms, values: values, documents: documents)
    }
}

extension MultiPassDecomposition.SketchPass: PortableComputation {
    public static var kind: String { "lsi.multi-pass.sketch.\(precisionName(Scalar.self))" }
    public var termBound: Int { termCount }

    func encodeParameters(into writer: inout PortableWriter) {
        writer.write(termCount)
        writer.write(sketchSize)
        writer.write(seed)
    }

    init(parameters reader: inout PortableReader) throws {
        termCount = try reader.readInt("term count", in: 1...maxTerms)
        sketchSize = try reader.readInt("sketch size", in: 1...maxSketch)
        seed = try reader.readUInt64("seed")
    }

    func encode(_ state: PartialState, into writer: inout PortableWriter) { state.encode(into: &writer) }

    func decodeState(_ reader: inout PortableReader) throws -> PartialState {
        try .decode(&reader, termCount: termCount, rows: sketchSize)
    }
}

/// The parameters of a pass that projects onto a basis (power iterations, the final pass):
/// the term count and the basis, one column per term.
private func encodeProjectionParameters<Scalar: LinearAlgebraScalar>(termCount: Int, basis: Matrix<Scalar>,
                                                                      into writer: inout PortableWriter) {
    writer.write(termCount)
    writer.write(basis)
}

private func decodeProjectionParameters<Scalar: LinearAlgebraScalar>(
    _ reader: inout PortableReader
) throws -> (Int, Matrix<Scalar>) {
    let termCount = try reader.readInt("term count", in: 1...maxTerms)
    let basis: Matrix<Scalar> = try reader.readMatrix("basis", maxRows: maxSketch, maxColumns: maxTerms)
    guard basis.columns == termCount else {
        throw reader.error("basis", "\(termCount) columns (terms), got \(basis.columns)")
    }
    return (termCount, basis)
}

extension MultiPassDecomposition.PowerPass: PortableComputation {
    public static var kind: String { "lsi.multi-pass.power.\(precisionName(Scalar.self))" }
    public var termBound: Int { termCount }

    func encodeParameters(into writer: inout PortableWriter) {
        encodeProjectionParameters(termCount: termCount, basis: basis, into: &writer)
    }

    init(parameters reader: inout PortableReader) throws {
        (termCount, basis) = try decodeProjectionParameters(&reader)
    }

    func encode(_ state: PartialState, into writer: inout PortableWriter) { state.encode(into: &writer) }

    func decodeState(_ reader: inout PortableReader) throws -> PartialState {
        try .decode(&reader, termCount: termCount, rows: basis.rows)
    }
}

extension MultiPassDecomposition.FinalPass: PortableComputation {
    public static var kind: String { "lsi.multi-pass.final.\(precisionName(Scalar.self))" }
    public var termBound: Int { termCount }

    func encodeParameters(into writer: inout PortableWriter) {
        encodeProjectionParameters(termCount: termCount, basis: basis, into: &writer)
    }

    init(parameters reader: inout PortableReader) throws {
        (termCount, basis) = try decodeProjectionParameters(&reader)
    }

    func encode(_ state: Factor, into writer: inout PortableWriter) {
        writer.write(state.documents)
        writer.write(state.l)
    }

    func decodeState(_ reader: inout PortableReader) throws -> Factor {
        let documents = try reader.readInt("documents", in: 0...Int(Int64.max / 2))
        let l: Matrix<Scalar> = try reader.readMatrix("L factor", maxRows: maxSketch, maxColumns: maxSketch)
        guard l.rows == basis.rows, l.columns <= l.rows else {
            throw reader.error("L factor", "\(basis.rows) rows and at most as many columns, got \(l.rows) x \(l.columns)")
        }
        return Factor(l: l, documents: documents)
    }
}

extension LSIModel {
    /// Registers the computations LSI training runs, so that a dispatcher and its workers
    /// can run them (one-pass, and the three kinds of multi-pass passes, in both precisions).
    public static func registerComputations(in registry: inout ComputationRegistry) {
        registry.register(OnePassDecomposition<Double>.self)
        registry.register(OnePassDecomposition<Float>.self)
        registry.register(MultiPassDecomposition.SketchPass<Double>.self)
        registry.register(MultiPassDecomposition.SketchPass<Float>.self)
        registry.register(MultiPassDecomposition.PowerPass<Double>.self)
        registry.register(MultiPassDecomposition.PowerPass<Float>.self)
        registry.register(MultiPassDecomposition.FinalPass<Double>.self)
        registry.register(MultiPassDecomposition.FinalPass<Float>.self)
    }
}
