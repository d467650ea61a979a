import LatentCorpus
import LatentModels

/// A computation defined outside the models layer, as another package would define one:
/// per chunk, the number of documents and the sum of `scale` x every weight; merged by
/// addition. States remember which chunks they cover, so a merge out of order is an error:
/// executors must merge neighbours, earlier first.
public struct WeightSum: PortableComputation {
    public struct Totals: Sendable, Equatable {
        public var documents: Int
        public var sum: Double
        public var firstChunk: Int
        public var lastChunk: Int

        public init(documents: Int, sum: Double, firstChunk: Int, lastChunk: Int) {
            self.documents = documents
            self.sum = sum
            self.firstChunk = firstChunk
            self.lastChunk = lastChunk
        }
    }

    public static let kind = "test.weight-sum"
    public let termBound: Int
    public let scale: Double

    public init(termBound: Int, scale: Double) {
        self.termBound = termBound
        self.scale = scale
    }

    public var name: String { "weight sum (x\(scale))" }

    public func process(_ chunk: SparseChunk, index: Int) throws -> Totals {
        Totals(documents: chunk.documentCount, sum: chunk.weights.reduce(0) { $0 + scale * $1 }, firstChunk: index, lastChunk: index)
    }

    public func merge(_ earlier: Totals, _ later: Totals) throws -> Totals {
        guard earlier.lastChunk + 1 == later.firstChunk else {
            throw ModelError(code: .invalidInput, message: "chunks \(earlier.firstChunk)...\(earlier.lastChunk) and \(later.firstChunk)...\(later.lastChunk) are not neighbours")
        }
        return Totals(documents: earlier.documents + later.documents, sum: earlier.sum + later.sum,
                      firstChunk: earlier.firstChunk, lastChunk: later.lastChunk)
    }

    public func encodeParameters(into writer: inout PortableWriter) {
        writer.write(termBound)
        writer.write(scale)
    }

    public init(parameters reader: inout PortableReader) throws {
        termBound = try reader.readInt("term bound", in: 1...Int(Int32.max))
        scale = try reader.readDouble("scale")
        guard scale.isFinite else { throw reader.error("scale", "a finite number") }
    }

    public func encode(_ state: Totals, into writer: inout PortableWriter) {
        writer.write(state.documents)
        writer.write(state.sum)
        writer.write(state.firstChunk)
        writer.write(state.lastChunk)
    }

    public func decodeState(_ reader: inout PortableReader) throws -> Totals {
        let documents = try reader.readInt("documents", in: 0...Int(Int32.max))
        let sum = try reader.readDouble("sum")
        let first = try reader.readInt("first chunk", in: 0...Int(Int32.max))
        let last = try reader.readInt("last chunk", in: first...Int(Int32.max))
        return Totals(documents: documents, sum: sum, firstChunk: first, lastChunk: last)
    }

    /// A registry of this computation alone.
    public static var registry: ComputationRegistry {
        var registry = ComputationRegistry()
        registry.register(WeightSum.self)
        return registry
    }
}
