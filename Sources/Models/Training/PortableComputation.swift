import LatentCorpus
import LatentLinearAlgebra
import Synchronization

/// A `ChunkedComputation` that can run in another process: its parameters and partial
/// states have a portable encoding, and `kind` names it in a `ComputationRegistry`, where a
/// worker or a dispatcher finds how to rebuild it. Decoding validates everything (sizes,
/// ranges, finite values): the bytes may come from anywhere.
public protocol PortableComputation: ChunkedComputation {
    /// The registry key, "family.variant", e.g. "lsi.one-pass.float64"; the family is the
    /// kind of the sessions it runs in.
    static var kind: String { get }
    /// Every term id of a chunk is below it; chunks are checked against it before a job runs.
    var termBound: Int { get }
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

    /// The computation rebuilt from `bytes` (parameters written by `parameterBytes()`).
    public static func decoded(fromParameters bytes: [UInt8]) throws -> Self {
        var reader = PortableReader(bytes, payload: "parameters of \(kind)")
        let computation = try Self(parameters: &reader)
        try reader.finish()
        return computation
    }
}

/// A portable computation rebuilt from its kind and parameter bytes: what workers and the
/// dispatcher run without knowing the model. Its types are erased once, when it is made;
/// partial states cross this interface only as bytes, and are typed again inside.
public protocol RemoteComputation: Sendable {
    var kind: String { get }
    var name: String { get }
    /// Every term id of a chunk must be below it.
    var termBound: Int { get }
    /// Runs the job of chunk `index` and returns its partial state, encoded.
    func processEncoded(_ chunk: SparseChunk, index: Int) throws -> [UInt8]
    /// A merger for the states of one reduction whose first chunk is `firstChunk`.
    func makeMerger(firstChunk: Int) -> any RemoteMerger
}

/// The states of one reduction of a remote computation, merged in the same fixed tree as
/// in-process (`TreeMerger`). A state is decoded (and so checked) first, and placed only
/// when the caller has decided to keep it: a dispatcher keeps one state per job.
public protocol RemoteMerger: Sendable {
    /// Decodes the state of chunk `index` and holds it; throws on malformed bytes.
    func receive(_ bytes: [UInt8], chunk index: Int) throws
    /// Places the held state of chunk `index` and performs every merge that makes ready.
    func place(chunk index: Int) throws
    /// Drops the held state of chunk `index`.
    func discard(chunk index: Int)
    /// Once every state was placed: the merge of all, encoded; nil when there were none.
    func finish() throws -> [UInt8]?
}

private struct Erased<Computation: PortableComputation>: RemoteComputation {
    let computation: Computation

    var kind: String { Computation.kind }
    var name: String { computation.name }
    var termBound: Int { computation.termBound }

    func processEncoded(_ chunk: SparseChunk, index: Int) throws -> [UInt8] {
        computation.stateBytes(try computation.process(chunk, index: index))
    }

    func makeMerger(firstChunk: Int) -> any RemoteMerger {
        TypedMerger(TreeMerger(computation, firstChunk: firstChunk))
    }
}

private final class TypedMerger<Computation: PortableComputation>: RemoteMerger {
    private let merger: TreeMerger<Computation>
    private let held = Mutex<[Int: Computation.PartialState]>([:])

    init(_ merger: TreeMerger<Computation>) {
        self.merger = merger
    }

    func receive(_ bytes: [UInt8], chunk index: Int) throws {
        let state = try merger.computation.state(fromBytes: bytes)
        held.withLock { $0[index] = state }
    }

    func place(chunk index: Int) throws {
        guard let state = held.withLock({ $0.removeValue(forKey: index) }) else {
            throw ModelError(code: .invalidInput, message: "\(merger.computation.name): no state of chunk \(index) was received")
        }
        try merger.add(index, state)
    }

    func discard(chunk index: Int) {
        held.withLock { _ = $0.removeValue(forKey: index) }
    }

    func finish() throws -> [UInt8]? {
        try merger.finish().map { merger.computation.stateBytes($0) }
    }
}

/// The computations a process can rebuild from what arrives over the network, by kind:
/// composed where the program starts (the command line, or a Swift program) from what each
/// model registers, and handed to the dispatcher, the workers and the cluster executor. Any
/// module can register its own computations; nothing else is ever run.
public struct ComputationRegistry: Sendable {
    private typealias Factory = @Sendable (inout PortableReader) throws -> any RemoteComputation
    private var factories: [String: Factory] = [:]

    public init() {}

    /// Adds `Computation` under its `kind` (replacing an earlier registration of the kind).
    public mutating func register<Computation: PortableComputation>(_: Computation.Type) {
        factories[Computation.kind] = { reader in Erased(computation: try Computation(parameters: &reader)) }
    }

    /// Every kind known, sorted.
    public var kinds: [String] { factories.keys.sorted() }

    /// The model families of the kinds ("lsi" for "lsi.one-pass.float64"): the session kinds
    /// a dispatcher accepts, with `SessionDescription.standaloneKind`.
    public var sessionKinds: Set<String> {
        Set(factories.keys.map { String($0.prefix { $0 != "." }) } + [SessionDescription.standaloneKind])
    }

    /// Rebuilds a computation; throws `PortableEncodingError` for an unknown kind or bad bytes.
    public func make(kind: String, parameters: [UInt8]) throws -> any RemoteComputation {
        var reader = PortableReader(parameters, payload: "parameters of \(kind)")
        guard let factory = factories[kind] else {
            throw reader.error("computation", "one of \(kinds.joined(separator: ", ")), got '\(kind)'")
        }
        let computation = try factory(&reader)
        try reader.finish()
        return computation
    }
}
