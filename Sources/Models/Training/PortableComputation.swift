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

/// A portable computation that can travel as the change from the computation of the stage
/// before it in the same session: a process holding that one rebuilds this one from a few
/// bytes instead of all its parameters. Online LDA's E-step sends a batch's statistics (a few
/// MB) and every process runs the M-step, instead of sending the topics (topics x terms
/// values) for every batch.
///
/// A change must keep how partial states decode and merge: a cluster's dispatcher merges the
/// states of a changed stage with the computation it last received whole.
public protocol IncrementalComputation: PortableComputation {
    /// Writes what turns `previous` into `self`; false when a change cannot say it (the
    /// parameters then travel whole).
    func encodeChange(from previous: Self, into writer: inout PortableWriter) -> Bool
    /// `previous` with the change `encodeChange` wrote; the result must equal, bit for bit,
    /// the computation the change was written from. Throws on malformed bytes.
    init(change reader: inout PortableReader, from previous: Self) throws
}

extension IncrementalComputation {
    /// The change from `previous`, encoded; nil when `previous` is another kind of computation
    /// or the change cannot be written.
    public func changeBytes(from previous: any PortableComputation) -> [UInt8]? {
        guard let previous = previous as? Self else { return nil }
        var writer = PortableWriter()
        return encodeChange(from: previous, into: &writer) ? writer.bytes : nil
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
    /// Runs the jobs of a block of 2^k consecutive chunks from chunk `index` and returns the
    /// merge of their states as a reduction's tree makes it over an aligned subtree (the
    /// state `RemoteMerger.place(chunk:level:)` places), encoded. `chunks.count` must be a
    /// power of two.
    func processEncoded(block chunks: [SparseChunk], index: Int) throws -> [UInt8]
    /// A merger for the states of one reduction whose first chunk is `firstChunk`.
    func makeMerger(firstChunk: Int) -> any RemoteMerger
    /// The computation that `change` (written by `IncrementalComputation.encodeChange`) makes
    /// of this one; throws when this kind takes no changes or the bytes are malformed.
    func applying(change: [UInt8]) throws -> any RemoteComputation
    /// Whether this kind takes changes (`IncrementalComputation`).
    var takesChanges: Bool { get }
}

extension RemoteComputation {
    /// None, unless the computation says so.
    public var takesChanges: Bool { false }
}

extension RemoteMerger {
    /// Places the held state of chunk `index` (a block of one chunk).
    public func place(chunk index: Int) throws {
        try place(chunk: index, level: 0)
    }
}

/// The states of one reduction of a remote computation, merged in the same fixed tree as
/// in-process (`TreeMerger`). A state is decoded (and so checked) first, and placed only
/// when the caller has decided to keep it: a dispatcher keeps one state per job.
public protocol RemoteMerger: Sendable {
    /// Decodes the state of chunk `index` and holds it; throws on malformed bytes.
    func receive(_ bytes: [UInt8], chunk index: Int) throws
    /// Places the held state of the block of 2^`level` chunks from chunk `index` (one chunk
    /// at level 0; a whole subtree of the reduction's tree, see `TreeMerger.add(block:level:_:)`)
    /// and performs every merge that makes ready.
    func place(chunk index: Int, level: Int) throws
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

    func processEncoded(block chunks: [SparseChunk], index: Int) throws -> [UInt8] {
        guard !chunks.isEmpty, chunks.count & (chunks.count - 1) == 0 else {
            throw ModelError(code: .invalidInput, message: "\(computation.name): a block of \(chunks.count) chunks; a block has a power of two")
        }
        // The block's own tree, whose leaf 0 is its first chunk: an aligned subtree merges
        // the same pairs in the same order wherever it sits in the reduction's tree.
        let merger = TreeMerger(computation, firstChunk: index)
        for (offset, chunk) in chunks.enumerated() {
            try merger.add(index + offset, try computation.process(chunk, index: index + offset))
        }
        guard let state = try merger.finish() else {
            throw ModelError(code: .invalidInput, message: "\(computation.name): a block without chunks")
        }
        return computation.stateBytes(state)
    }

    func makeMerger(firstChunk: Int) -> any RemoteMerger {
        TypedMerger(TreeMerger(computation, firstChunk: firstChunk))
    }

    var takesChanges: Bool { computation is any IncrementalComputation }

    func applying(change: [UInt8]) throws -> any RemoteComputation {
        guard let incremental = computation as? any IncrementalComputation else {
            throw PortableEncodingError(payload: "change of \(Computation.kind)", field: "computation",
                                        expected: "a computation that takes changes, got \(Computation.kind)")
        }
        return try Self.applying(change, to: incremental)
    }

    private static func applying<C: IncrementalComputation>(_ change: [UInt8], to previous: C) throws -> any RemoteComputation {
        var reader = PortableReader(change, payload: "change of \(C.kind)")
        let next = try C(change: &reader, from: previous)
        try reader.finish()
        return Erased<C>(computation: next)
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

    func place(chunk index: Int, level: Int) throws {
        guard let state = held.withLock({ $0.removeValue(forKey: index) }) else {
            throw ModelError(code: .invalidInput, message: "\(merger.computation.name): no state of chunk \(index) was received")
        }
        try merger.add(block: index, level: level, state)
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
