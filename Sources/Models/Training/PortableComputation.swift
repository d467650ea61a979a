import LatentCorpus
import LatentLinearAlgebra

/// A `ChunkedComputation` that can run in another process: its parameters and partial
/// states have a portable encoding, and `kind` names it in `PortableComputations`, where a
/// worker finds how to rebuild it. Decoding validates everything (sizes, ranges, finite
/// values): the bytes may come from anywhere.
public protocol PortableComputation: ChunkedComputation {
    /// The registry key, e.g. "lsi.one-pass.float64".
    static var kind: String { get }
    /// Everything a job needs; nothing may fall back to a default on the other side.
    func encodeParameters(into writer: inout PortableWriter)
    init(parameters reader: inout PortableReader) throws
    func encode(_ state: PartialState, into writer: inout PortableWriter)
    func decodeState(_ reader: inout PortableReader) throws -> PartialState
}

extension PortableComputation {
    public func parameterBytes() -> [UInt8] {
        var writer = PortableWriter()
        encodeParameters(into: &writer)
        return writer.bytes
    }

    public func stateBytes(_ state: PartialState) -> [UInt8] {
        var writer = PortableWriter()
        encode(state, into: &writer)
        return writer.bytes
    }

    public func state(fromBytes bytes: [UInt8]) throws -> PartialState {
        var reader = PortableReader(bytes, payload: "partial state of \(name)")
        let state = try decodeState(&reader)
        try reader.finish()
        return state
    }
}

/// A partial state whose type only its computation knows (see `RemoteComputation`).
public struct OpaqueState: @unchecked Sendable {
    // Holds a `Sendable` value of the computation's `PartialState`.
    fileprivate let value: Any
}

/// A portable computation rebuilt from its kind and parameter bytes, with its types erased:
/// what workers and the dispatcher run without knowing the model.
public protocol RemoteComputation: Sendable {
    var kind: String { get }
    var name: String { get }
    func process(_ chunk: SparseChunk, index: Int) throws -> OpaqueState
    func merge(_ earlier: OpaqueState, _ later: OpaqueState) throws -> OpaqueState
    func encode(_ state: OpaqueState) -> [UInt8]
    func decodeState(_ bytes: [UInt8]) throws -> OpaqueState
    /// The largest term id plus one that chunks may hold.
    var termBound: Int { get }
}

private struct Erased<Computation: PortableComputation & TermBounded>: RemoteComputation {
    let computation: Computation

    var kind: String { Computation.kind }
    var name: String { computation.name }
    var termBound: Int { computation.termCount }

    func process(_ chunk: SparseChunk, index: Int) throws -> OpaqueState {
        OpaqueState(value: try computation.process(chunk, index: index))
    }

    func merge(_ earlier: OpaqueState, _ later: OpaqueState) throws -> OpaqueState {
        OpaqueState(value: try computation.merge(try unwrap(earlier), try unwrap(later)))
    }

    func encode(_ state: OpaqueState) -> [UInt8] {
        guard let state = state.value as? Computation.PartialState else { return [] }
        return computation.stateBytes(state)
    }

    func decodeState(_ bytes: [UInt8]) throws -> OpaqueState {
        OpaqueState(value: try computation.state(fromBytes: bytes))
    }

    private func unwrap(_ state: OpaqueState) throws -> Computation.PartialState {
        guard let value = state.value as? Computation.PartialState else {
            throw ModelError(code: .invalidInput, message: "\(name): a partial state of another computation was given")
        }
        return value
    }
}

/// Computations whose chunks hold term ids below a bound.
protocol TermBounded {
    var termCount: Int { get }
}

/// The registry of every portable computation, by kind: how a worker or the dispatcher
/// rebuilds a computation from what a client sent.
public enum PortableComputations {
    private typealias Factory = @Sendable (inout PortableReader) throws -> any RemoteComputation

    private static func entry<C: PortableComputation & TermBounded>(_: C.Type) -> (String, Factory) {
        (C.kind, { reader in Erased(computation: try C(parameters: &reader)) })
    }

    private static let factories: [String: Factory] = Dictionary(uniqueKeysWithValues: [
        entry(OnePassDecomposition<Double>.self), entry(OnePassDecomposition<Float>.self),
        entry(MultiPassDecomposition.SketchPass<Double>.self), entry(MultiPassDecomposition.SketchPass<Float>.self),
        entry(MultiPassDecomposition.PowerPass<Double>.self), entry(MultiPassDecomposition.PowerPass<Float>.self),
        entry(MultiPassDecomposition.FinalPass<Double>.self), entry(MultiPassDecomposition.FinalPass<Float>.self),
    ])

    /// Every kind known, sorted.
    public static var kinds: [String] { factories.keys.sorted() }

    /// Rebuilds a computation; throws `PortableEncodingError` for an unknown kind or bad bytes.
    public static func make(kind: String, parameters: [UInt8]) throws -> any RemoteComputation {
        var reader = PortableReader(parameters, payload: "parameters of \(kind)")
        guard let factory = factories[kind] else {
            throw reader.error("computation", "one of \(kinds.joined(separator: ", ")), got '\(kind)'")
        }
        let computation = try factory(&reader)
        try reader.finish()
        return computation
    }

}

/// What a training run is, for executors that report it (a cluster's dispatcher logs it
/// and sends it to workers): the model and every one of its parameters.
public enum TrainingDescription: Sendable, Equatable {
    case lsi(LSIParameters, termCount: Int)
    /// A computation run on its own (a direct call to `ChunkExecutor.run`): its name.
    case computation(String)
}

extension ChunkExecutor {
    /// Default: one run is just calls to `run`.
    public func session<Result: Sendable>(
        _ description: TrainingDescription, _ body: (any ChunkExecutor) async throws -> Result
    ) async throws -> Result {
        try await body(self)
    }
}
