import Dispatch
import Foundation
import LatentModels
import Logging
import Synchronization

/// The dispatcher's live state: `DispatcherCore`'s decisions, the events of the run in
/// progress, the waiting of long polls and of backpressure (by continuations), and the
/// merges of partial states (on a queue of their own, off the RPC tasks).
actor DispatcherState {
    private var core: DispatcherCore
    let registry: ComputationRegistry
    private let logger: Logger
    private let started = ContinuousClock.now
    /// The events of the current run, for its client's `OpenRun` stream.
    private var events: AsyncStream<Latent_Cluster_V1_RunEvent>.Continuation?
    /// Whoever waits for a job to lease, for room in the queue, or for the run to end, with
    /// the timer that ends the wait at its deadline.
    private var waiting: [Wait: [UInt64: (continuation: CheckedContinuation<Void, Never>, timer: Task<Void, Never>?)]] = [:]
    private var waiterIDs: UInt64 = 0
    /// Stages whose last state is in: their merges may use every core.
    private let tailStages = TailStages()
    private static let mergeQueue = DispatchQueue(label: "latent.dispatcher.merge")

    /// Changes each time a dispatcher starts: ids from another instance are unknown.
    nonisolated let epoch: UInt64

    /// Called when a run ends, once its stages are let go (`Dispatcher.Options.afterRun`).
    private let afterRun: (@Sendable () -> Void)?

    init(heartbeatTimeout: Duration, minimumLease: Duration = .seconds(60), registry: ComputationRegistry, logger: Logger,
         afterRun: (@Sendable () -> Void)? = nil) {
        core = DispatcherCore(heartbeatTimeout: heartbeatTimeout, minimumLease: minimumLease, logger: logger)
        self.afterRun = afterRun
        epoch = core.epoch
        self.registry = registry
        self.logger = logger
    }

    // MARK: Workers

    func register(name: String, threads: Int, peer: String) -> UInt64 {
        let id = core.register(name: name, threads: threads, peer: peer, now: .now)
        resumeAll(.room)  // more threads, more room
        return id
    }

    func heartbeat(worker: UInt64, epoch: UInt64) -> Bool {
        core.heartbeat(worker: worker, epoch: epoch, now: .now)
    }

    func isKnown(worker: UInt64, epoch: UInt64) -> Bool {
        core.isKnown(worker: worker, epoch: epoch)
    }

    /// Drops workers that missed heartbeats and requeues jobs leased too long; tells the
    /// client which jobs went back.
    func sweep() {
        announce(core.sweep(now: .now))
    }

    /// A connection closed: its workers, if any, are dropped at once.
    func connectionClosed(peer: String) {
        announce(core.connectionClosed(peer: peer))
    }

    /// Tells the client which jobs went back to the queue, and wakes the workers waiting.
    private func announce(_ drops: [DispatcherCore.Dropped]) {
        for dropped in drops where !dropped.requeued.isEmpty {
            events?.yield(.with {
                $0.requeued = .with { $0.workerID = dropped.worker; $0.jobIds = dropped.requeued; $0.reason = dropped.reason }
            })
            resumeAll(.job)
        }
    }

    /// The next job for `worker`, waiting for one until `deadline`; nil when none came.
    func takeJob(worker: UInt64, until deadline: ContinuousClock.Instant) async -> DispatcherCore.Lease? {
        while true {
            if let lease = core.lease(to: worker) {
                resumeAll(.room)
                return lease
            }
            guard ContinuousClock.now < deadline else { return nil }
            await wait(for: .job, until: deadline)
        }
    }

    func leaseFailed(job: UInt64, worker: UInt64) {
        core.leaseFailed(job: job, worker: worker)
        resumeAll(.job)
    }

    /// What a worker that holds stage `held`'s computation needs for stage `stage`'s (see
    /// `DispatcherCore.stageParameters`); for a stage started ahead, once its parameters are
    /// made. Nil when the run or the stage is gone. Without `waiting`, at once: empty when
    /// the parameters cannot be had now, whatever the reason.
    func stageParameters(run: UInt64, stage: UInt64, held: UInt64, worker: UInt64 = 0,
                         ownJobs: Set<UInt64> = [], waiting: Bool = true) async -> [UInt8]? {
        while true {
            if let parameters = core.stageParameters(run: run, stage: stage, held: held, worker: worker, ownJobs: ownJobs) {
                return parameters
            }
            guard waiting else { return [] }
            guard core.awaitsBase(run: run, stage: stage) else { return nil }
            // No deadline: the parameters come with the stage before's merged state, and the
            // run's end or failure ends the wait too.
            await wait(for: .parameters, until: nil)
        }
    }

    func chainBase(run: UInt64, stage: UInt64, base: UInt64, kind: String, size: Int) throws -> any RemoteComputation {
        try core.chainBase(run: run, stage: stage, base: base, kind: kind, size: size)
    }

    func appendingResult(run: UInt64, base: UInt64, to beginning: [UInt8]) throws -> [UInt8]? {
        try core.appendingResult(run: run, base: base, to: beginning)
    }

    // MARK: Results

    /// A worker's state for a job: decoded (and so checked) off the actor, claimed, then
    /// merged in on the merge queue while the worker goes on to its next job. Returns
    /// whether the state was wanted; throws `DispatcherCore.Refusal` on malformed bytes.
    func returnResult(worker: UInt64, run: UInt64, stage: UInt64, job: UInt64, bytes: [UInt8]) async throws -> Bool {
        guard let target = core.target(run: run, stage: stage, job: job) else { return false }
        let merger = target.merger, chunk = target.chunkIndex, level = target.level
        do {
            try await onThread { try merger.receive(bytes, chunk: chunk) }
        } catch {
            logger.warning("worker #\(worker) returned a malformed state for job #\(job): \(error)")
            throw DispatcherCore.Refusal(code: .invalid, message: "state of job #\(job): \(error)")
        }
        let (claimed, lastJobIn) = core.claim(job: job, worker: worker, run: run)
        guard claimed else {
            merger.discard(chunk: chunk)
            return false
        }
        if lastJobIn {
            tailStages.insert(stage)
            resumeAll(.job)  // the jobs of a stage started ahead may go out now
        }
        let tail = tailStages
        Task {
            do {
                try await Self.merging(tail: tail, stage: stage) { try merger.place(chunk: chunk, level: level) }
                await self.merged(job: job, worker: worker, run: run, target: target)
            } catch {
                self.fail(run: run, message: "merging the state of job #\(job) failed: \(error)")
            }
        }
        return true
    }

    private func merged(job: UInt64, worker: UInt64, run: UInt64, target: DispatcherCore.Target) async {
        guard core.isCurrent(run: run) else { return }
        events?.yield(.with {
            $0.finished = .with {
                $0.stage = target.stage; $0.jobID = job; $0.chunkIndex = UInt64(target.chunkIndex)
                $0.documents = UInt64(target.documents); $0.workerID = worker; $0.chunks = UInt64(target.chunks)
            }
        })
        if core.merged(job: job, stage: target.stage, chunkIndex: target.chunkIndex, chunks: target.chunks,
                       documents: target.documents, worker: worker, run: run) {
            await complete(run: run, stage: target.stage, merger: target.merger)
        }
    }

    /// Every state of the stage is merged: finish the merge and tell the client.
    private func complete(run: UInt64, stage: UInt64, merger: any RemoteMerger) async {
        tailStages.insert(stage)
        do {
            let result = try await Self.merging(tail: tailStages, stage: stage) { try merger.finish() } ?? []
            guard core.isCurrent(run: run) else { return }
            let inline = result.count <= ClusterLimits.blockSize
            if core.completed(run: run, stage: stage, result: result, inline: inline) { resumeAll(.parameters) }
            tailStages.remove(stage)
            events?.yield(.with {
                $0.complete = .with {
                    $0.stage = stage; $0.size = UInt64(result.count)
                    if inline { $0.inline = true; $0.result = Data(result) }
                }
            })
        } catch {
            fail(run: run, message: "merging the states of stage \(stage) failed: \(error)")
        }
    }

    /// Runs `work` on the merge queue: on one core while the stage's jobs are out (workers
    /// may share this machine), on every core once its last state is in (the tail).
    private static func merging<T: Sendable>(tail: TailStages, stage: UInt64,
                                            _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            mergeQueue.async {
                ComputeThreads.alone(on: tail.contains(stage) ? ComputeThreads.cores : 1)
                defer { ComputeThreads.alone(on: 1) }
                continuation.resume(with: Result { try work() })
            }
        }
    }

    /// A job failed on a worker (its chunk does not fit the computation): when the job was
    /// still wanted, the run fails with the worker's message, as it would have in-process.
    func jobFailed(run: UInt64, stage: UInt64, job: UInt64, message: String) -> Bool {
        guard core.target(run: run, stage: stage, job: job) != nil else { return false }
        fail(run: run, message: message)
        return true
    }

    /// A job failed on a worker, or a merge failed: the run fails with the message.
    func fail(run: UInt64, message: String) {
        guard core.isCurrent(run: run) else { return }
        logger.error("run #\(run) failed: \(message)")
        events?.yield(.with { $0.failed = .with { $0.message = message } })
    }

    // MARK: Clients

    /// Opens a run for `client`, waiting until `deadline` for a run in progress to end.
    /// `replaces`: a run of the same client that this one resumes (the client lost its
    /// connection and came back before the dispatcher noticed); it is ended first.
    func openRun(client: String, owner: String = "", kind: String, description: String, replaces: UInt64 = 0,
                 until deadline: ContinuousClock.Instant) async throws
        -> (UInt64, AsyncStream<Latent_Cluster_V1_RunEvent>) {
        guard registry.sessionKinds.contains(kind) else {
            throw DispatcherCore.Refusal(code: .invalid, message:
                "unknown run kind '\(kind)'; this dispatcher knows \(registry.sessionKinds.sorted().joined(separator: ", "))")
        }
        if replaces != 0, !owner.isEmpty, let current = core.run, current.id == replaces, current.owner == owner {
            logger.warning("run #\(replaces) of \(client) is replaced by its client, which lost its connection and resumes")
            endRun(replaces)
        }
        while true {
            if core.run == nil || ContinuousClock.now >= deadline {
                let id = try core.openRun(client: client, owner: owner, description: description, now: .now)
                let (stream, continuation) = AsyncStream<Latent_Cluster_V1_RunEvent>.makeStream()
                events = continuation
                continuation.yield(.with { $0.opened = .with { $0.runID = id; $0.workers = UInt32(core.workers.count) } })
                return (id, stream)
            }
            await wait(for: .run, until: deadline)
        }
    }

    /// The client went away or finished: forget the run and its jobs.
    func endRun(_ id: UInt64) {
        guard core.endRun(id, now: .now) != nil else { return }
        events?.finish()
        events = nil
        tailStages.removeAll()
        resumeAll(.run)
        resumeAll(.room)
        resumeAll(.parameters)
        afterRun?()
    }

    /// Opens the next stage of a run: `computation` (already rebuilt from the registry)
    /// over chunks from `firstChunk` on.
    func startStage(run: UInt64, stage: UInt64, computation: any RemoteComputation, parameters: [UInt8],
                    baseStage: UInt64, firstChunk: Int, appendedResult: Bool = false, awaitingBase: Bool = false) throws {
        try core.startStage(run: run, stage: stage, computation: computation, parameters: parameters, baseStage: baseStage,
                            merger: computation.makeMerger(firstChunk: firstChunk), firstChunk: firstChunk,
                            appendedResult: appendedResult, awaitingBase: awaitingBase)
    }

    /// The threads of the workers registered now.
    var workerThreads: Int { core.workerThreads }

    /// Whether `run` is the run in progress.
    func hasRun(_ run: UInt64) -> Bool { core.run?.id == run }

    func computation(run: UInt64, stage: UInt64) throws -> any RemoteComputation {
        try core.computation(run: run, stage: stage)
    }

    /// Queues a chunk's job, waiting while the queue is full: the backpressure.
    func submit(run: UInt64, stage: UInt64, chunkIndex: Int, level: Int = 0, leafDocuments: Int = 0, firstDocument: Int,
                documents: Int, payload: [UInt8], sharedPath: String) async throws -> UInt64 {
        while true {
            if let job = try core.enqueue(run: run, stage: stage, chunkIndex: chunkIndex, level: level,
                                          leafDocuments: leafDocuments, firstDocument: firstDocument,
                                          documents: documents, payload: payload, sharedPath: sharedPath) {
                resumeAll(.job)
                return job
            }
            // No deadline: the room comes with a lease or the run's end, and a timer would
            // stay allocated until its deadline however soon the wait ended.
            await wait(for: .room, until: nil)
        }
    }

    func endStage(run: UInt64, stage: UInt64, chunks: Int) async throws {
        let merged = try core.endStage(run: run, stage: stage, chunks: chunks)
        resumeAll(.job)  // every state may be in: the jobs of a stage started ahead may go out
        if merged, let merger = core.merger(run: run, stage: stage) {
            await complete(run: run, stage: stage, merger: merger)
        }
    }

    func takeResult(run: UInt64, stage: UInt64) throws -> [UInt8] {
        try core.takeResult(run: run, stage: stage)
    }

    // MARK: Status

    /// What the dispatcher's metrics show of its state.
    func metrics() -> (DispatcherCore.Counters, DispatcherCore.Status, uptime: Double) {
        (core.counters, core.status(now: .now), roundedSeconds(ContinuousClock.now - started))
    }

    func status() -> (DispatcherCore.Status, uptime: Double) {
        (core.status(now: .now), roundedSeconds(ContinuousClock.now - started))
    }

    // MARK: Waiting

    private enum Wait { case job, room, run, parameters }

    /// Suspends until `resumeAll(kind)` or `deadline`, whichever comes first; the timer of a
    /// wait that ends early is cancelled, so no task outlives its wait (its sleep's memory,
    /// though, is freed only at the deadline: keep deadlines short, or nil for none).
    private func wait(for kind: Wait, until deadline: ContinuousClock.Instant?) async {
        waiterIDs += 1
        let id = waiterIDs
        await withCheckedContinuation { continuation in
            let timer = deadline.map { deadline in
                Task {
                    try? await Task.sleep(until: deadline)
                    self.timeOut(kind, id)
                }
            }
            waiting[kind, default: [:]][id] = (continuation, timer)
        }
    }

    private func timeOut(_ kind: Wait, _ id: UInt64) {
        waiting[kind]?.removeValue(forKey: id)?.continuation.resume()
    }

    private func resumeAll(_ kind: Wait) {
        let all = waiting.removeValue(forKey: kind) ?? [:]
        for waiter in all.values {
            waiter.timer?.cancel()
            waiter.continuation.resume()
        }
    }
}

/// The stages whose last state is in, read by merges on the merge queue.
final class TailStages: Sendable {
    private let stages = Mutex<Set<UInt64>>([])

    func insert(_ stage: UInt64) { stages.withLock { _ = $0.insert(stage) } }
    func remove(_ stage: UInt64) { stages.withLock { _ = $0.remove(stage) } }
    func removeAll() { stages.withLock { $0.removeAll() } }
    func contains(_ stage: UInt64) -> Bool { stages.withLock { $0.contains(stage) } }
}
