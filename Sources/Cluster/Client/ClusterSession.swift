import Foundation
import GRPCCore
import LatentCorpus
import LatentModels
import Logging
import Synchronization

/// A training session on the cluster: one run at the dispatcher. Each reduction of each
/// pass is one stage of the run.
struct ClusterSession: TrainingSession {
    let client: DispatcherClient
    let run: ClientRun
    let runID: UInt64
    let logger: Logger
    let sharedStorage: Bool
    let registry: ComputationRegistry
    let chain = ParameterChain()

    func pass<C: Corpus, Result: Sendable>(
        over corpus: C, chunkSize: Int, progress: (@Sendable (TrainingProgress) -> Void)?,
        _ body: (any TrainingPass) async throws -> Result
    ) async throws -> Result {
        let pass = ClusterPass(session: self, corpus: corpus, chunkSize: chunkSize, progress: progress)
        defer { pass.close() }
        return try await body(pass)
    }

    /// In shared-storage mode, the absolute path and document count of a corpus the workers
    /// can read by range; nil (with a warning) when the corpus cannot be read that way.
    func sharedFile<C: Corpus>(of corpus: C) -> (path: String, documents: Int)? {
        guard sharedStorage else { return nil }
        guard let file = corpus as? any RangeReadableCorpus, file.supportsRanges, let documents = corpus.documentCount else {
            logger.warning("shared storage: this corpus cannot be read by range of documents (that needs a .lbc file, or an uncompressed .mm with its .index): sending the documents instead")
            return nil
        }
        return (URL(fileURLWithPath: file.path).standardizedFileURL.path, documents)
    }
}

/// One read of a corpus on the cluster: the client reads the chunks (or, in shared-storage
/// mode, only counts them) and submits each reduction's to its stage.
final class ClusterPass: TrainingPass {
    private let session: ClusterSession
    private let chunkSize: Int
    /// The documents as chunks, read ahead; nil in shared-storage mode.
    private let reader: PassReader?
    private let shared: (path: String, documents: Int)?
    private let report: (@Sendable (TrainingProgress) -> Void)?
    private let cursor: Mutex<Cursor>

    private struct Cursor {
        /// Chunks submitted (or skipped), and whether the pass found the end.
        var position = PassPosition.start
        var progress: TrainingProgress
    }

    init<C: Corpus>(session: ClusterSession, corpus: C, chunkSize: Int, progress: (@Sendable (TrainingProgress) -> Void)?) {
        self.session = session
        self.chunkSize = max(1, chunkSize)
        shared = session.sharedFile(of: corpus)
        reader = shared == nil ? PassReader(corpus, chunkSize: self.chunkSize, depth: 2) : nil
        report = progress
        cursor = Mutex(Cursor(progress: TrainingProgress(documentsDone: 0, documentsTotal: corpus.documentCount,
                                                         chunksDone: 0, pass: 1, passes: 1)))
    }

    func close() {
        reader?.cancel()
        ahead.withLock { $0?.cancel() }
    }

    var runsElsewhere: Bool { true }

    var position: PassPosition {
        cursor.withLock { $0.position }
    }

    func skip(chunks: Int?) async throws {
        guard cursor.withLock({ $0.position.skip(chunks) }), let reader else { return }
        try await onThread { try reader.skip(chunks: chunks) }
    }

    func reduce<Computation: ChunkedComputation>(
        _ computation: Computation, nextChunks chunks: Int?
    ) async throws -> Computation.PartialState? {
        try await reduce(computation, nextChunks: chunks, followedBy: nil)
    }

    func reduce<Computation: ChunkedComputation>(
        _ computation: Computation, nextChunks chunks: Int?, followedBy next: FollowingReduction?
    ) async throws -> Computation.PartialState? {
        guard let portable = computation as? any PortableComputation else {
            throw ClusterError(.invalidConfiguration, "\(computation.name) cannot run on a cluster (it has no portable encoding)")
        }
        guard let state = try await stage(portable, chunks: chunks, following: next) else { return nil }
        guard let typed = state as? Computation.PartialState else {
            throw ClusterError(.protocolViolation, "\(computation.name): the merged state has another type")
        }
        return typed
    }

    /// A chunk of the pass read for a stage: its index in the pass, first document, documents,
    /// payload (empty in shared-storage mode) and shared path.
    private typealias PassChunk = (index: Int, first: Int, documents: Int, payload: [UInt8], path: String)

    /// The next chunk of the pass for a stage; nil when the pass is over.
    private func nextChunk() async throws -> PassChunk? {
        if let shared {
            return cursor.withLock { cursor in
                let first = cursor.position.chunks * chunkSize
                guard !cursor.position.ended, first < shared.documents else {
                    cursor.position.ended = true
                    return nil
                }
                cursor.position.chunks += 1
                return (cursor.position.chunks - 1, first, min(chunkSize, shared.documents - first), [], shared.path)
            }
        }
        guard let reader, !cursor.withLock({ $0.position.ended }) else { return nil }
        guard let chunk = try await onThread({ try reader.next() }) else {
            cursor.withLock { $0.position.ended = true }
            return nil
        }
        cursor.withLock { $0.position.chunks += 1 }
        return (chunk.firstDocument / chunkSize, chunk.firstDocument, chunk.documentCount, chunk.portableBytes(), "")
    }

    /// A stage's chunks as they go out: those read and not submitted yet, how many were
    /// submitted, and whether the stage has no more to read.
    private struct StageFeed: Sendable {
        var buffer: [PassChunk]
        var submitted = 0
        var exhausted = false
    }

    /// A stage the reduction before started ahead (`FollowingReduction`): its number, the
    /// chunks it was announced for, the workers' threads when it started
    /// (`StageReply.worker_threads`) and where its chunks stand (its first block is out).
    private struct AheadStage: Sendable {
        let stage: UInt64
        let chunks: Int?
        let threads: Int
        let feed: StageFeed
    }

    /// The start of the stage after the last one, under way or done; nil when none was started ahead.
    private let ahead = Mutex<Task<AheadStage?, any Error>?>(nil)

    /// Numbers the next stage, whose finished jobs count in the pass's progress.
    private func nextStage() -> UInt64 {
        session.run.nextStage { [self] documents, chunks in
            let snapshot = cursor.withLock { cursor in
                cursor.progress.documentsDone += documents
                cursor.progress.chunksDone += chunks
                return cursor.progress
            }
            report?(snapshot)
        }
    }

    /// One stage: the computation, then the chunks, then the merged state back. With
    /// `following`, the next stage starts as soon as this one's chunks are out.
    private func stage<P: PortableComputation>(_ computation: P, chunks limit: Int?,
                                               following: FollowingReduction?) async throws -> P.PartialState? {
        guard session.registry.kinds.contains(P.kind) else {
            throw ClusterError(.invalidConfiguration, "\(computation.name) (\(P.kind)) is not in this program's registry of computations, so no cluster runs it")
        }
        let (client, run, runID, chain) = (session.client, session.run, session.runID, session.chain)
        let stage: UInt64, threads: Int
        var feed: StageFeed
        if let started = try await ahead.withLock({ task in defer { task = nil }; return task })?.value {
            guard started.chunks == limit else {
                throw ClusterError(.protocolViolation, "\(computation.name): stage \(started.stage) was started ahead for \(started.chunks.map { "\($0) chunks" } ?? "the rest of the pass"), and is asked for \(limit.map { "\($0) chunks" } ?? "the rest")")
            }
            try await onThread { try chain.confirmAhead(computation, stage: started.stage) }
            (stage, threads, feed) = (started.stage, started.threads, started.feed)
        } else {
            guard limit != 0, let first = try await nextChunk() else { return nil }
            stage = nextStage()
            let (parameters, base, appendsResult) = try await onThread { chain.parameters(of: computation, stage: stage) }
            threads = try await start(stage, kind: P.kind, firstChunk: first.index, parameters: parameters, base: base,
                                      appendsResult: appendsResult)
            feed = StageFeed(buffer: [first])
        }
        while !feed.buffer.isEmpty {
            try await submitBlock(&feed, stage: stage, chunks: limit, threads: threads)
        }
        if let following { startAhead(following, after: stage, kind: P.kind) }
        let completion = try await run.completion(of: stage)
        guard completion.size > 0 else { return nil }
        let bytes: [UInt8]
        if let inline = completion.inline {
            bytes = inline
        } else {
            bytes = try await run.racing {
                try await client.fetchResult(.with { $0.runID = runID; $0.stage = stage }, options: Transport.callOptions()) { response in
                    let (header, bytes) = try await receivePayload(response.messages, what: "result of stage \(stage)")
                    guard header.size == completion.size else {
                        throw ClusterError(.protocolViolation, "stage \(stage): a result of \(header.size) bytes, \(completion.size) announced")
                    }
                    return bytes
                }
            }
        }
        guard bytes.count == completion.size else {
            throw ClusterError(.protocolViolation, "stage \(stage): a result of \(bytes.count) bytes, \(completion.size) announced")
        }
        chain.resultArrived(stage: stage, bytes: bytes)
        return try await onThread { try computation.state(fromBytes: bytes) }
    }

    /// Starts the stage after `stage` while `stage` runs: the beginning of its change goes to
    /// the dispatcher, which appends `stage`'s merged state and hands out its jobs once that
    /// state is merged, and its first chunk follows. Declined (the stage starts as usual)
    /// when the model does not know the change after all, the change may not fit the chain's
    /// allowance, or the pass has no chunk left.
    private func startAhead(_ following: FollowingReduction, after stage: UInt64, kind: String) {
        let chain = session.chain
        let task = Task<AheadStage?, any Error> { [self] in
            guard following.chunks != 0, let beginning = try await following.changeBeginning(),
                  chain.startAhead(stage: stage + 1, beginning: beginning) else { return nil }
            guard let first = try await nextChunk() else {
                chain.cancelAhead()
                return nil
            }
            let number = nextStage()
            let threads = try await start(number, kind: kind, firstChunk: first.index, parameters: beginning, base: stage,
                                          appendsResult: true)
            // The first block goes now, to be handed out as soon as the stage's parameters are
            // made; the rest follow when the model asks for the reduction.
            var feed = StageFeed(buffer: [first])
            try await submitBlock(&feed, stage: number, chunks: following.chunks, threads: threads)
            return AheadStage(stage: number, chunks: following.chunks, threads: threads, feed: feed)
        }
        ahead.withLock { $0 = task }
    }

    /// Submits the next block of a stage of `chunks` chunks (nil: the rest of the pass), as
    /// large as `blockLevel` allows where it starts, reading the chunks it needs and one more:
    /// a block goes once the chunk after it is known (or known not to be there), so that the
    /// last can say it ends the stage.
    private func submitBlock(_ feed: inout StageFeed, stage: UInt64, chunks limit: Int?, threads: Int) async throws {
        let largest = Self.blockLevel(chunks: limit, threads: threads), submitted = feed.submitted
        var size = 1
        while size < 1 << largest, submitted % (size * 2) == 0, limit.map({ submitted + size * 2 <= $0 }) ?? true { size *= 2 }
        while feed.buffer.count <= size, !feed.exhausted {
            if let limit, submitted + feed.buffer.count >= limit {
                feed.exhausted = true
            } else if let next = try await nextChunk() {
                feed.buffer.append(next)
            } else {
                feed.exhausted = true
            }
        }
        // At the end of the pass, what is left goes in the largest blocks it makes: each is
        // still a whole subtree (its size divides the stage's offset).
        while size > feed.buffer.count { size /= 2 }
        guard size > 0 else { return }
        let block = Array(feed.buffer.prefix(size))
        feed.buffer.removeFirst(size)
        try await submit(block, stage: stage, endsStageWith: feed.buffer.isEmpty && feed.exhausted ? submitted + size : 0)
        feed.submitted += size
    }

    /// The level of the largest blocks a stage of `chunks` chunks (nil: the rest of the pass)
    /// goes in, when its workers have `threads` threads: blocks of 2^level chunks, as large as
    /// leaves two jobs for each thread (a job's round trips and its state's journey cost the
    /// same whatever its size, and two a thread let one's state travel while the next runs).
    /// One chunk a job when the stage's size is not known (a whole pass: LSI's chunks are
    /// large already) or no worker is registered yet.
    static func blockLevel(chunks: Int?, threads: Int) -> Int {
        guard let chunks, threads > 0 else { return 0 }
        var level = 0
        while level < DispatcherCore.maximumLevel, (chunks >> (level + 1)) >= 2 * threads { level += 1 }
        return level
    }

    /// Opens stage `stage` at the dispatcher with its parameters; returns the threads of the
    /// workers registered there.
    private func start(_ stage: UInt64, kind: String, firstChunk: Int, parameters: [UInt8], base: UInt64,
                       appendsResult: Bool) async throws -> Int {
        let (client, run, runID) = (session.client, session.run, session.runID)
        // Every call races the run's failure: a call on a connection cut off by a partition
        // may never end by itself (`ClientRun.racing`). So no call here has a timeout, whose
        // timer would outlive the call (`Transport.callOptions`).
        let reply = try await run.racing {
            try await Transport.upload({
                try await client.startStage(options: Transport.callOptions(), requestProducer: $0, onResponse: $1)
            }) { writer in
                try await sendPayload(parameters, header: .with {
                    $0.stage = .with {
                        $0.runID = runID; $0.stage = stage; $0.computation = kind; $0.firstChunk = UInt64(firstChunk)
                        $0.baseStage = base; $0.appendsBaseResult = appendsResult
                    }
                }, to: writer)
            }
        }
        return Int(reply.workerThreads)
    }

    /// Submits a block of consecutive chunks (2^level of them, a whole subtree of the stage's
    /// merge tree: `ChunkBlock`) to stage `stage` as one job; `endsStageWith`, when not 0,
    /// says it is the stage's last and how many chunks the stage has.
    private func submit(_ block: [PassChunk], stage: UInt64, endsStageWith total: Int) async throws {
        let (client, run, runID) = (session.client, session.run, session.runID)
        guard let head = block.first, block.count & (block.count - 1) == 0 else {
            throw ClusterError(.protocolViolation, "a block of \(block.count) chunks; a block has a power of two")
        }
        let (index, first, path) = (head.index, head.first, head.path)
        let documents = block.reduce(0) { $0 + $1.documents }
        let level = block.count.trailingZeroBitCount, leafDocuments = chunkSize
        let payload = path.isEmpty ? ChunkBlock.encode(payloads: block.map(\.payload)) : []
        _ = try await run.racing {
            try await Transport.upload({
                try await client.submitChunk(options: Transport.callOptions(), requestProducer: $0, onResponse: $1)
            }) { writer in
                try await sendPayload(payload, header: .with {
                    $0.chunk = .with {
                        $0.runID = runID; $0.stage = stage; $0.chunkIndex = UInt64(index)
                        $0.firstDocument = UInt64(first); $0.documents = UInt64(documents); $0.sharedPath = path
                        $0.endsStageWith = UInt64(total); $0.level = UInt32(level); $0.leafDocuments = UInt64(leafDocuments)
                    }
                }, to: writer)
            }
        }
        session.logger.info("dispatched documents up to #\(first + documents)\(path.isEmpty ? "" : " (read by the workers from \(path))")")
        if let failure = run.failure { throw failure }
    }
}

/// The parameters a session's stages send: whole, or, for a computation that takes changes
/// (`IncrementalComputation`), the change from the stage before while the changes since the
/// last whole parameters stay within `ClusterLimits.changeAllowance`.
final class ParameterChain: Sendable {
    private struct Last {
        var stage: UInt64
        /// Kept only when it takes changes: another computation (an LSI basis) may be large.
        var computation: (any IncrementalComputation)?
        var wholeSize: Int
        var changes: Int
        /// The stage's merged state as the dispatcher sent it, once it has arrived: kept, as the
        /// dispatcher keeps it, when the computation takes changes and the state fits the
        /// allowance, for the next change to end with (or when the next stage started ahead).
        var result: [UInt8]? = nil
        /// Whether the stage's merged state has arrived.
        var arrived = false
        /// The size of the last merged state that arrived, in this chain or the one before.
        var resultSize: Int? = nil
        /// The next stage, started ahead with this beginning of its change (`FollowingReduction`).
        var ahead: (stage: UInt64, beginning: [UInt8])? = nil

        /// Stage `number` went as a change of `change` bytes from this one, to `computation`.
        mutating func advance(to number: UInt64, _ computation: any IncrementalComputation, change: Int) {
            stage = number
            self.computation = computation
            changes += change
            result = nil
            arrived = false
            ahead = nil
        }
    }

    private let last = Mutex<Last?>(nil)

    /// Stage `stage`'s merged state arrived from the dispatcher.
    func resultArrived(stage: UInt64, bytes: [UInt8]) {
        last.withLock { last in
            guard var previous = last, previous.stage == stage, previous.computation != nil else { return }
            previous.arrived = true
            previous.resultSize = bytes.count
            if previous.ahead != nil || ClusterLimits.holdsMergedState(size: bytes.count, wholeSize: previous.wholeSize) {
                previous.result = bytes
            }
            last = previous
        }
    }

    /// Whether stage `stage` may start before the merged state of the stage before has
    /// arrived, as a change of which the dispatcher appends that state to `beginning`: when the
    /// stage before takes changes and the change, with a merged state up to twice as large as
    /// the last one, fits the allowance (past which the parameters go whole), and that state
    /// has not arrived yet (then the next stage gains nothing by it). Recorded if so:
    /// `confirmAhead` or `cancelAhead` follows.
    func startAhead(stage: UInt64, beginning: [UInt8]) -> Bool {
        last.withLock { last in
            guard var previous = last, previous.stage + 1 == stage, previous.computation != nil, previous.ahead == nil,
                  !previous.arrived, let size = previous.resultSize,
                  previous.changes + beginning.count + 2 * size <= ClusterLimits.changeAllowance(wholeSize: previous.wholeSize)
            else { return false }
            previous.ahead = (stage, beginning)
            last = previous
            return true
        }
    }

    /// The stage recorded by `startAhead` was not started after all.
    func cancelAhead() {
        last.withLock { $0?.ahead = nil }
    }

    /// Stage `stage`, started ahead, is `computation`: its change must be the beginning sent
    /// followed by the merged state of the stage before (which has arrived). Throws otherwise:
    /// the model announced another computation than it made.
    func confirmAhead<P: PortableComputation>(_ computation: P, stage: UInt64) throws {
        try last.withLock { last throws(ClusterError) in
            guard var previous = last, let ahead = previous.ahead, ahead.stage == stage, previous.stage + 1 == stage,
                  let incremental = computation as? any IncrementalComputation, let before = previous.computation,
                  let result = previous.result, let change = incremental.changeBytes(from: before),
                  Self.beginning(of: change, endingWith: result) == ahead.beginning else {
                throw ClusterError(.protocolViolation, "stage \(stage) (\(computation.name)) was started ahead as a change that its computation does not make (a FollowingReduction that does not match the reduction made)")
            }
            previous.advance(to: stage, incremental, change: change.count)
            last = previous
        }
    }

    /// What stage `stage` sends for `computation`, the stage its change is of (0: whole), and
    /// whether the bytes are only the change's beginning: when the change ends with the merged
    /// state of the stage before (LDA's M-step carries the statistics just merged), the
    /// dispatcher, which holds that state too, appends it (`appends_base_result`).
    func parameters<P: PortableComputation>(of computation: P, stage: UInt64) -> (bytes: [UInt8], base: UInt64, appendsResult: Bool) {
        last.withLock { last in
            let incremental = computation as? any IncrementalComputation
            if var previous = last, previous.stage + 1 == stage, let incremental, let before = previous.computation,
               let change = incremental.changeBytes(from: before),
               previous.changes + change.count <= ClusterLimits.changeAllowance(wholeSize: previous.wholeSize) {
                let base = previous.stage
                let beginning = previous.result.flatMap { Self.beginning(of: change, endingWith: $0) }
                previous.advance(to: stage, incremental, change: change.count)
                last = previous
                return (beginning ?? change, base, beginning != nil)
            }
            let whole = computation.parameterBytes()
            last = Last(stage: stage, computation: incremental, wholeSize: whole.count, changes: 0, resultSize: last?.resultSize)
            return (whole, 0, false)
        }
    }

    /// `bytes` without `suffix`, when they end with it; nil otherwise.
    static func beginning(of bytes: [UInt8], endingWith suffix: [UInt8]) -> [UInt8]? {
        let start = bytes.count - suffix.count
        guard start >= 0 else { return nil }
        let equal = bytes.withUnsafeBytes { all in
            suffix.withUnsafeBytes { tail in
                guard let first = all.baseAddress, let other = tail.baseAddress else { return tail.isEmpty }
                return memcmp(first + start, other, tail.count) == 0
            }
        }
        return equal ? Array(bytes[..<start]) : nil
    }
}
