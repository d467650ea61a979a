import Foundation
import LatentCorpus
import LatentLinearAlgebra
@testable import LatentModels
import TestSupport
import Testing

/// Every computation LSI registers passes the shared conformance checker.
@Suite("LSI computations conform")
struct LSIComputationConformanceTests {
    /// 600 documents of the planted corpus, in 6 chunks of 100. One-pass states keep up to
    /// 400 factors, so three chunks' merges truncate nothing and agree to rounding whatever
    /// their association.
    static let corpus = InMemoryCorpus(Array(PlantedCorpus.shared.corpus.documents.prefix(600)), termCount: PlantedCorpus.shared.terms)
    static let terms = PlantedCorpus.shared.terms

    /// Every entry within `tolerance` times a's largest. (The matrices are terms x terms: the
    /// loop is over concrete Doubles, which a debug build runs far faster than generic code.)
    static func close<S: LinearAlgebraScalar>(_ a: Matrix<S>, _ b: Matrix<S>, tolerance: Double) -> Bool {
        guard a.rows == b.rows && a.columns == b.columns else { return false }
        return a.converted(to: Double.self).storage.withUnsafeBufferPointer { x in
            b.converted(to: Double.self).storage.withUnsafeBufferPointer { y in
                var scale = 1e-30
                for value in x { scale = max(scale, abs(value)) }
                let limit = tolerance * scale
                for i in 0..<x.count where !(abs(x[i] - y[i]) <= limit) { return false }
                return true
            }
        }
    }

    static func tolerance<S: LinearAlgebraScalar>(_: S.Type) -> Double { S.self == Float.self ? 1e-4 : 1e-9 }

    /// Projections agree when their singular values and their U S (signs aside: Uᵀ U S²
    /// would hide rotations, so compare U S Sᵀ Uᵀ) agree.
    static func equivalent<S: LinearAlgebraScalar>(_ a: LSIProjection<S>, _ b: LSIProjection<S>) -> Bool {
        let tolerance = Self.tolerance(S.self)
        guard a.rank == b.rank, a.documents == b.documents else { return false }
        func gram(_ p: LSIProjection<S>) -> Matrix<S> {
            var scaled = p.basis
            for j in 0..<scaled.columns { for i in 0..<scaled.rows { scaled[i, j] *= p.singularValues[i] } }
            return Matrix.product(scaled, transposeA: true, scaled)
        }
        return zip(a.singularValues, b.singularValues).allSatisfy { abs(Double($0) - Double($1)) <= tolerance * Double(a.singularValues[0]) }
            && close(gram(a), gram(b), tolerance: tolerance)
    }

    static func equivalent<S: LinearAlgebraScalar>(_ a: MultiPassDecomposition.TermSum<S>, _ b: MultiPassDecomposition.TermSum<S>) -> Bool {
        a.documents == b.documents && close(a.full(termCount: terms), b.full(termCount: terms), tolerance: tolerance(S.self))
    }

    static func equivalent<S: LinearAlgebraScalar>(_ a: MultiPassDecomposition.FinalPass<S>.Factor, _ b: MultiPassDecomposition.FinalPass<S>.Factor) -> Bool {
        // L is unique up to the signs of its columns; L Lᵀ is unique.
        a.documents == b.documents
            && close(Matrix.product(a.l, a.l, transposeB: true), Matrix.product(b.l, b.l, transposeB: true), tolerance: tolerance(S.self))
    }

    static func basis<S: LinearAlgebraScalar>(_: S.Type, rows: Int) throws -> Matrix<S> {
        var generator = SeededGenerator(seed: 5)
        return try Matrix<Double>.gaussian(rows: rows, columns: terms, using: &generator).rowSpaceBasis().converted(to: S.self)
    }

    static func failures<S: LinearAlgebraScalar>(_: S.Type, registry: ComputationRegistry) async throws -> [String: [String]] {
        var results: [String: [String]] = [:]
        let onePass = OnePassDecomposition<S>(termCount: terms, sketchSize: 150, keep: 400, powerIterations: 2, decay: 1, seed: 3, firstChunk: 0)
        results[type(of: onePass).kind] = try await ComputationConformance.check(onePass, corpus: corpus, chunkSize: 100, registry: registry,
                                                                               equivalent: equivalent)
        let sketch = MultiPassDecomposition.SketchPass<S>(termCount: terms, sketchSize: 20, seed: 3)
        results[type(of: sketch).kind] = try await ComputationConformance.check(sketch, corpus: corpus, chunkSize: 100, registry: registry,
                                                                              equivalent: equivalent)
        let power = MultiPassDecomposition.PowerPass<S>(termCount: terms, basis: try basis(S.self, rows: 20))
        results[type(of: power).kind] = try await ComputationConformance.check(power, corpus: corpus, chunkSize: 100, registry: registry,
                                                                             equivalent: equivalent)
        let final = MultiPassDecomposition.FinalPass<S>(termCount: terms, basis: try basis(S.self, rows: 20))
        results[type(of: final).kind] = try await ComputationConformance.check(final, corpus: corpus, chunkSize: 100, registry: registry,
                                                                             equivalent: equivalent)
        return results
    }

    @Test("every computation LSI registers: encodings, the registry, associative merges, threads")
    func conformance() async throws {
        var registry = ComputationRegistry()
        LSIModel.registerComputations(in: &registry)
        var checked = try await Self.failures(Double.self, registry: registry)
        checked.merge(try await Self.failures(Float.self, registry: registry)) { $0 + $1 }
        #expect(Set(checked.keys) == Set(registry.kinds), "a registered computation has no conformance check")
        for (kind, failures) in checked.sorted(by: { $0.key < $1.key }) {
            #expect(failures.isEmpty, "\(kind): \(failures.joined(separator: "; "))")
        }
    }

    @Test("the checker finds what breaks: a merge that is not associative")
    func checkerCatches() async throws {
        struct Lopsided: PortableComputation {
            static let kind = "test.lopsided"
            var termBound: Int { 2000 }
            var name: String { "lopsided" }
            func process(_ chunk: SparseChunk, index: Int) throws -> Double { Double(chunk.documentCount) }
            func merge(_ earlier: Double, _ later: Double) throws -> Double { earlier / 2 + later }
            func encodeParameters(into writer: inout PortableWriter) {}
            init() {}
            init(parameters reader: inout PortableReader) throws {}
            func encode(_ state: Double, into writer: inout PortableWriter) { writer.write(state) }
            func decodeState(_ reader: inout PortableReader) throws -> Double { try reader.readDouble("value") }
        }
        var registry = ComputationRegistry()
        registry.register(Lopsided.self)
        let failures = try await ComputationConformance.check(Lopsided(), corpus: Self.corpus, chunkSize: 100, registry: registry) { $0 == $1 }
        #expect(failures.contains { $0.contains("is not associative") }, "\(failures)")
    }
}
