import Foundation
import LatentCorpus
import Logging
import Synchronization

/// The reductions of a training run, kept in a folder as they complete, so that a run
/// interrupted (a crash, a signal, a dispatcher that went away) can be run again and skip
/// them.
///
/// Each completed reduction's merged state is written to `reduction-NNNNNN.state`, then
/// `checkpoint.json` (the list of reductions, with what asked for each) is replaced; both
/// under temporary names renamed into place, so the folder always holds a consistent
/// checkpoint. A run resumed from it (`CheckpointingExecutor` with `resume`) replays the
/// recorded reductions in order, reading none of their chunks, and runs the rest. A model's
/// steps between reductions depend only on their results (design §2), so the resumed run
/// ends with the model an uninterrupted one makes, bit for bit.
///
/// What was recorded is checked as it is replayed: the session (model kind, settings and
/// parameters), the pass (chunk size, corpus shape), the computation and the chunks asked
/// for must all be the same, else the run stops with an error saying what differs.
public final class TrainingCheckpoint: Sendable {
    /// The checkpoint's folder.
    public let directory: String
    /// How often the finished start of a reduction in progress is saved (in-process runs).
    public let interval: Duration
    private let logger: Logger?
    private let state: Mutex<Manifest>
    /// Sessions opened so far by this process.
    private let sessionsOpened = Mutex(0)
    /// Held while the folder is written: job threads may save starts at the same time, and
    /// files of one save must not be removed as stale by another.
    private let writing = Mutex(())

    /// `checkpoint.json`.
    struct Manifest: Codable, Equatable {
        /// Identifies the file; it sorts first, so a checkpoint's first bytes are recognised.
        var checkpoint = Self.format
        /// Each session's fingerprint and summary, in the order the run opened them.
        var sessions: [Session] = []
        var reductions: [Reduction] = []
        /// The finished start of the reduction in progress, when one was saved.
        var partial: Partial?

        static let format = "latent 1"
    }

    /// A reduction in progress: what asked for it (as `Reduction`, without its end), and
    /// the states of its first `chunks` chunks as its merge tree's blocks.
    struct Partial: Codable, Equatable {
        var reduction: Reduction
        var chunks: Int
        var blocks: [Block]
    }

    struct Block: Codable, Equatable {
        var level: Int
        var index: Int
        var state: StateFile
    }

    struct Session: Codable, Equatable {
        var fingerprint: String
        var summary: String
    }

    /// One completed reduction.
    struct Reduction: Codable, Equatable {
        /// Its session, pass and place, each counted from 0 (the place within the session).
        var session: Int
        var pass: Int
        var number: Int
        /// What asked for it: the computation, the chunks asked for (nil: the rest of the
        /// pass), and the pass's chunk size and corpus shape.
        var computation: String
        var requested: Int?
        var passShape: String
        /// The pass's position before and after it.
        var start: PassPosition
        var end: PassPosition
        /// Its merged state; nil when the pass had no chunk left.
        var state: StateFile?
    }

    struct StateFile: Codable, Equatable {
        var file: String
        var bytes: Int
        var checksum: String
    }

    static let manifestName = "checkpoint.json"
    static let stateMagic = Array("LATENTCK".utf8)

    /// Opens `directory` for a run, creating it when missing.
    ///
    /// - Parameter resume: continue the run recorded there. Without it, a folder that holds
    ///   a checkpoint is refused (it is another run's, or this one's to resume with
    ///   `resume`); with it, a folder without one starts from the beginning, with a warning.
    /// - Throws: `ModelError` for a folder that cannot be used, or a checkpoint that cannot
    ///   be read.
    ///   - interval: how often the finished start of a long reduction (one-pass LSI is one
    ///     reduction over the whole corpus) is saved, in-process; reductions are recorded
    ///     as they complete whatever it is.
    public init(directory: String, resume: Bool, interval: Duration = .seconds(300), logger: Logger? = nil) throws {
        self.directory = directory
        self.interval = interval
        self.logger = logger
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                throw ModelError(code: .invalidCheckpoint, message: "\(directory): is a file; --checkpoint names a folder for the run's checkpoint")
            }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            } catch {
                throw ModelError(code: .invalidCheckpoint, message: "\(directory): cannot create the checkpoint folder (\(error.localizedDescription))")
            }
        }
        let manifestPath = directory + "/" + Self.manifestName
        guard FileManager.default.fileExists(atPath: manifestPath) else {
            if resume {
                logger?.warning("\(directory) holds no checkpoint: starting from the beginning")
            }
            state = Mutex(Manifest())
            return
        }
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        } catch {
            throw ModelError(code: .invalidCheckpoint, message: "\(manifestPath): not a checkpoint Latent can read (\(error))")
        }
        guard manifest.checkpoint == Manifest.format else {
            throw ModelError(code: .invalidCheckpoint, message: "\(manifestPath): checkpoint format '\(manifest.checkpoint)', expected '\(Manifest.format)'")
        }
        guard resume else {
            throw ModelError(code: .invalidCheckpoint, message: "\(directory) holds the checkpoint of a run (\(manifest.sessions.first?.summary ?? "no session yet"), \(manifest.reductions.count) reductions done): give --resume to continue it, or another --checkpoint folder")
        }
        let started = manifest.partial.map { ", and the first \($0.chunks) chunks of the next" } ?? ""
        logger?.info("resuming from the checkpoint in \(directory): \(manifest.reductions.count) reductions done\(started)")
        state = Mutex(manifest)
    }

    /// Reductions recorded so far.
    public var reductionCount: Int { state.withLock { $0.reductions.count } }

    /// Removes what the checkpoint wrote (its files, and the folder when that leaves it
    /// empty): once the run's outputs are saved, nothing is left to resume.
    public func remove() {
        let files = state.withLock { manifest in
            defer { manifest = Manifest() }
            return manifest.reductions.compactMap(\.state?.file) + (manifest.partial?.blocks.map(\.state.file) ?? [])
                + [Self.manifestName]
        }
        for file in files { try? FileManager.default.removeItem(atPath: directory + "/" + file) }
        if (try? FileManager.default.contentsOfDirectory(atPath: directory))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    // MARK: Sessions and reductions

    /// Numbers the run's next session, `description`, checked against the one recorded
    /// under its number.
    func openSession(_ description: SessionDescription) throws -> Int {
        let index = sessionsOpened.withLock { count in
            defer { count += 1 }
            return count
        }
        var bytes = Array(description.kind.utf8) + [0] + Array(description.summary.utf8) + [0]
        bytes += description.parameters
        let fingerprint = Self.checksum(bytes)
        let recorded: Session? = try state.withLock { manifest in
            if index < manifest.sessions.count { return manifest.sessions[index] }
            guard index == manifest.sessions.count else {
                throw ModelError(code: .invalidCheckpoint, message: "checkpoint in \(directory): session \(index) opened before session \(manifest.sessions.count)")
            }
            manifest.sessions.append(Session(fingerprint: fingerprint, summary: description.summary))
            return nil
        }
        if let recorded, recorded.fingerprint != fingerprint {
            throw ModelError(code: .invalidCheckpoint, message: "the checkpoint in \(directory) is of another run (\(recorded.summary)); this run is \(description.summary) — give another --checkpoint folder")
        }
        if recorded == nil { try writeManifest() }
        return index
    }

    /// The recorded reduction `number` of `session`, if any.
    func recorded(session: Int, number: Int) -> Reduction? {
        state.withLock { manifest in
            manifest.reductions.first { $0.session == session && $0.number == number }
        }
    }

    /// The bytes of a recorded reduction's state.
    func stateBytes(of reduction: Reduction) throws -> [UInt8]? {
        try reduction.state.map(readState)
    }

    /// Says that a session replayed `count` recorded reductions and runs the rest.
    func noteReplayed(_ count: Int, session: Int) {
        logger?.info("replayed \(count) reduction\(count == 1 ? "" : "s") of session \(session + 1) from the checkpoint in \(directory); running the rest")
    }

    /// The saved start of reduction `number` of `session`, if it is the one in progress.
    func partial(session: Int, number: Int) -> Partial? {
        state.withLock { manifest in
            manifest.partial.flatMap { $0.reduction.session == session && $0.reduction.number == number ? $0 : nil }
        }
    }

    /// The blocks of a saved start, with their states' bytes.
    func blockBytes(of partial: Partial) throws -> [(level: Int, index: Int, bytes: [UInt8])] {
        try partial.blocks.map { ($0.level, $0.index, try readState($0.state)) }
    }

    /// Records a completed reduction and its state (nil when it had no chunk), in place of
    /// its saved start.
    func record(_ reduction: Reduction, state bytes: [UInt8]?) throws {
        try writing.withLock { _ in try recordHoldingLock(reduction, state: bytes) }
    }

    private func recordHoldingLock(_ reduction: Reduction, state bytes: [UInt8]?) throws {
        var reduction = reduction
        if let bytes {
            reduction.state = try writeState(bytes, name: String(format: "reduction-%02d-%06d.state", reduction.session, reduction.number))
        }
        let stale: [String] = state.withLock { manifest in
            manifest.reductions.removeAll { $0.session == reduction.session && $0.number == reduction.number }
            manifest.reductions.append(reduction)
            defer { manifest.partial = nil }
            return manifest.partial?.blocks.map(\.state.file) ?? []
        }
        try writeManifest()
        for file in stale { try? FileManager.default.removeItem(atPath: directory + "/" + file) }
        logger?.debug("checkpoint: reduction \(reduction.number + 1) of session \(reduction.session + 1) written to \(directory)")
    }

    /// Saves the finished start of the reduction `reduction` asks for: `chunks` chunks as
    /// `blocks` (each block's state encoded only when it is not saved already: a block's
    /// state never changes).
    func savePartial(_ reduction: Reduction, chunks: Int,
                     blocks: [(level: Int, index: Int, encode: () throws -> [UInt8])]) throws {
        try writing.withLock { _ in try savePartialHoldingLock(reduction, chunks: chunks, blocks: blocks) }
    }

    private func savePartialHoldingLock(_ reduction: Reduction, chunks: Int,
                                        blocks: [(level: Int, index: Int, encode: () throws -> [UInt8])]) throws {
        let saved = state.withLock { manifest in manifest.partial.flatMap { $0.reduction == reduction ? $0 : nil } }
        // Another thread saved as much or more meanwhile.
        if let saved, saved.chunks >= chunks { return }
        let earlier = saved?.blocks ?? []
        var kept: [Block] = []
        var written = 0
        for block in blocks {
            if let earlier = earlier.first(where: { $0.level == block.level && $0.index == block.index }) {
                kept.append(earlier)
                continue
            }
            let bytes = try block.encode()
            written += bytes.count
            let name = String(format: "reduction-%02d-%06d-block-%d-%d.state", reduction.session, reduction.number, block.level, block.index)
            kept.append(Block(level: block.level, index: block.index, state: try writeState(bytes, name: name)))
        }
        let stale: [String] = state.withLock { manifest in
            let old = manifest.partial?.blocks.map(\.state.file) ?? []
            manifest.partial = Partial(reduction: reduction, chunks: chunks, blocks: kept)
            let files = Set(kept.map(\.state.file))
            return old.filter { !files.contains($0) }
        }
        try writeManifest()
        for file in stale { try? FileManager.default.removeItem(atPath: directory + "/" + file) }
        logger?.info("checkpoint: the first \(chunks) chunks of reduction \(reduction.number + 1) saved in \(directory) (\(String(format: "%.1f", Double(written) / 1e6)) MB written)")
    }

    /// Writes a state file (the magic, then the bytes) under a temporary name, renamed
    /// into place.
    private func writeState(_ bytes: [UInt8], name: String) throws -> StateFile {
        let file = try AtomicFileWriter(path: directory + "/" + name, kind: .trainingCheckpoint)
        try file.write(bytes: Self.stateMagic)
        try bytes.withUnsafeBytes { try file.write(raw: $0) }
        try file.commit()
        return StateFile(file: name, bytes: bytes.count, checksum: Self.checksum(bytes))
    }

    /// A state file's bytes, checked against its size and checksum.
    private func readState(_ file: StateFile) throws -> [UInt8] {
        let path = directory + "/" + file.file
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelError(code: .invalidCheckpoint, message: "\(path): cannot read the checkpoint's state (\(error.localizedDescription))")
        }
        guard data.count == Self.stateMagic.count + file.bytes, data.starts(with: Self.stateMagic) else {
            throw ModelError(code: .invalidCheckpoint, message: "\(path): \(data.count) bytes, expected \(Self.stateMagic.count + file.bytes) starting with LATENTCK (a truncated or foreign file)")
        }
        let payload = [UInt8](data.dropFirst(Self.stateMagic.count))
        let checksum = Self.checksum(payload)
        guard checksum == file.checksum else {
            throw ModelError(code: .invalidCheckpoint, message: "\(path): checksum \(checksum), recorded \(file.checksum): the file is damaged")
        }
        return payload
    }

    private static func checksum(_ bytes: [UInt8]) -> String {
        String(bytes.withUnsafeBytes { BinaryCorpus.checksum($0) }, radix: 16)
    }

    private func writeManifest() throws {
        let manifest = state.withLock { $0 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data: Data
        do {
            data = try encoder.encode(manifest)
        } catch {
            throw ModelError(code: .invalidCheckpoint, message: "\(directory): cannot encode the checkpoint (\(error))")
        }
        let file = try AtomicFileWriter(path: directory + "/" + Self.manifestName, kind: .trainingCheckpoint)
        try file.write(bytes: data)
        try file.commit()
    }
}

/// An executor that keeps a checkpoint of its sessions' reductions (`TrainingCheckpoint`)
/// and, resumed, replays the recorded ones: `base` runs only the rest. Every computation
/// must have a portable encoding (`PortableComputation`), which is how states are written.
public struct CheckpointingExecutor: ChunkExecutor {
    public let base: any ChunkExecutor
    public let checkpoint: TrainingCheckpoint

    public init(_ base: any ChunkExecutor, checkpoint: TrainingCheckpoint) {
        self.base = base
        self.checkpoint = checkpoint
    }

    public var description: String { "\(base.description), checkpoints in \(checkpoint.directory)" }

    public func session<Result: Sendable>(
        _ description: SessionDescription, _ body: (any TrainingSession) async throws -> Result
    ) async throws -> Result {
        let index = try checkpoint.openSession(description)
        // `base` may run `body` more than once (a cluster that lost its dispatcher starts
        // the session again): each run replays what the checkpoint holds by then.
        return try await base.session(description) { inner in
            try await body(ReplayingSession(inner: inner, checkpoint: checkpoint, session: index))
        }
    }
}

/// A session that replays the reductions its checkpoint holds and records the others.
private final class ReplayingSession: TrainingSession {
    let inner: any TrainingSession
    let checkpoint: TrainingCheckpoint
    let session: Int
    private let counters = Mutex((passes: 0, reductions: 0, replayed: 0))

    init(inner: any TrainingSession, checkpoint: TrainingCheckpoint, session: Int) {
        self.inner = inner
        self.checkpoint = checkpoint
        self.session = session
    }

    func nextReduction() -> Int {
        counters.withLock { counters in
            defer { counters.reductions += 1 }
            return counters.reductions
        }
    }

    var runsInProcess: Bool { inner.runsInProcess }

    /// Counts a replayed reduction.
    func replayed() {
        counters.withLock { $0.replayed += 1 }
    }

    /// Before the first reduction that runs: says how many were replayed, if any.
    func running() {
        let replayed = counters.withLock { counters in
            defer { counters.replayed = 0 }
            return counters.replayed
        }
        if replayed > 0 { checkpoint.noteReplayed(replayed, session: session) }
    }

    func pass<C: Corpus, Result: Sendable>(
        over corpus: C, chunkSize: Int, progress: (@Sendable (TrainingProgress) -> Void)?,
        _ body: (any TrainingPass) async throws -> Result
    ) async throws -> Result {
        let index = counters.withLock { counters in
            defer { counters.passes += 1 }
            return counters.passes
        }
        let shape = "chunks of \(chunkSize) documents of a corpus of \(corpus.documentCount.map(String.init) ?? "?") documents"
            + " and \(corpus.termCount.map(String.init) ?? "?") terms"
        return try await inner.pass(over: corpus, chunkSize: chunkSize, progress: progress) { pass in
            try await body(ReplayingPass(inner: pass, session: self, pass: index, shape: shape))
        }
    }
}

private final class ReplayingPass: TrainingPass {
    let inner: any TrainingPass
    let session: ReplayingSession
    let pass: Int
    let shape: String

    init(inner: any TrainingPass, session: ReplayingSession, pass: Int, shape: String) {
        self.inner = inner
        self.session = session
        self.pass = pass
        self.shape = shape
    }

    var runsElsewhere: Bool { inner.runsElsewhere }
    var position: PassPosition { inner.position }
    func skip(chunks: Int?) async throws { try await inner.skip(chunks: chunks) }

    func reduce<Computation: ChunkedComputation>(
        _ computation: Computation, nextChunks chunks: Int?
    ) async throws -> Computation.PartialState? {
        guard let portable = computation as? any PortableComputation else {
            throw ModelError(code: .invalidCheckpoint, message: "\(computation.name) cannot be checkpointed: it has no portable encoding")
        }
        let checkpoint = session.checkpoint
        let number = session.nextReduction()
        let start = inner.position
        var asked = TrainingCheckpoint.Reduction(session: session.session, pass: pass, number: number,
                                                 computation: computation.name, requested: chunks, passShape: shape,
                                                 start: start, end: start, state: nil)
        if let recorded = checkpoint.recorded(session: session.session, number: number) {
            asked.end = recorded.end
            asked.state = recorded.state
            guard asked == recorded else {
                throw ModelError(code: .invalidCheckpoint, message: "the checkpoint in \(checkpoint.directory) is of another run: its reduction \(number + 1) was \(recorded.computation) over \(recorded.requested.map { "\($0) chunks" } ?? "the rest") of pass \(recorded.pass + 1) (\(recorded.passShape), from chunk \(recorded.start.chunks)); this run asks for \(computation.name) over \(chunks.map { "\($0) chunks" } ?? "the rest") of pass \(pass + 1) (\(shape), from chunk \(start.chunks))")
            }
            try await inner.skip(chunks: recorded.end.ended ? nil : recorded.end.chunks - start.chunks)
            session.replayed()
            guard let bytes = try checkpoint.stateBytes(of: recorded) else { return nil }
            return try Self.decode(bytes, as: portable, computation)
        }
        session.running()
        let result: Computation.PartialState?
        if let local = inner as? InProcessPass {
            // In-process, a long reduction's finished start is saved as it goes, and a saved
            // one is continued from.
            let partial = checkpoint.partial(session: session.session, number: number)
            if let partial, partial.reduction != asked {
                throw ModelError(code: .invalidCheckpoint, message: "the checkpoint in \(checkpoint.directory) is of another run: its reduction \(number + 1) in progress was \(partial.reduction.computation) from chunk \(partial.reduction.start.chunks); this run asks for \(computation.name) from chunk \(start.chunks)")
            }
            let prefix = try partial.map { partial in
                ReductionPrefix(chunks: partial.chunks, blocks: try checkpoint.blockBytes(of: partial).map {
                    .init(level: $0.level, index: $0.index, state: try Self.decode($0.bytes, as: portable, computation))
                })
            }
            let header = asked
            let saving = PrefixSaving<Computation.PartialState>(interval: checkpoint.interval) { prefix in
                try checkpoint.savePartial(header, chunks: prefix.chunks, blocks: prefix.blocks.map { block in
                    (block.level, block.index, { try Self.encode(block.state, as: portable, computation) })
                })
            }
            result = try await local.reduce(computation, nextChunks: chunks, resuming: prefix, saving: saving)
        } else {
            result = try await inner.reduce(computation, nextChunks: chunks)
        }
        asked.end = inner.position
        try checkpoint.record(asked, state: try result.map { try Self.encode($0, as: portable, computation) })
        return result
    }

    private static func encode<P: PortableComputation, State>(_ state: State, as portable: P, _ computation: some ChunkedComputation) throws -> [UInt8] {
        guard let typed = state as? P.PartialState else {
            throw ModelError(code: .invalidCheckpoint, message: "checkpoint: the state of \(computation.name) is not of its portable encoding's type")
        }
        return portable.stateBytes(typed)
    }

    private static func decode<P: PortableComputation, Computation: ChunkedComputation>(
        _ bytes: [UInt8], as portable: P, _ computation: Computation
    ) throws -> Computation.PartialState {
        guard let state = try portable.state(fromBytes: bytes) as? Computation.PartialState else {
            throw ModelError(code: .invalidCheckpoint, message: "checkpoint: the state of \(computation.name) decodes to another type")
        }
        return state
    }
}
