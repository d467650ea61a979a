import Foundation
import GRPCCore
import LatentModels
import Logging

/// Everything the dispatcher knows: its workers, the run in progress (at most one), the
/// run's stages (one per pass of the model), its queue of jobs and their leases.
///
/// Jobs are leased, not handed over: a lease lasts until the job's state comes back or the
/// worker is dropped (missed heartbeats, or the job could not be sent), and then the job
/// goes back to the front of the queue. A job's state is accepted once, from the worker it
/// is leased to or, after a requeue, from whichever worker finishes it first.
actor DispatcherState {
    struct WorkerRecord {
        var id: UInt64
        var name: String
        var peer: String
        var threads: Int
        var lastSeen: ContinuousClock.Instant
        var leased: Set<UInt64> = []
        var jobsDone: UInt64 = 0
    }

    struct Job: Sendable {
        var id: UInt64
        var stage: UInt32
        var chunkIndex: Int
        var firstDocument: Int
        var documents: Int
        var payload: [UInt8]
        /// Shared-storage mode: the file the worker reads the documents from.
        var sharedPath: String
    }

    final class Stage {
        let number: UInt32
        let parameters: [UInt8]
        let merger: StageMerger
        /// The chunks submitted so far.
        var chunkIndices: Set<Int> = []
        var finished = 0
        var merged = 0
        var expected: Int?
        var result: [UInt8]?
        var workers: Set<UInt64> = []
        var completed = false

        init(number: UInt32, parameters: [UInt8], computation: any RemoteComputation) {
            self.number = number
            self.parameters = parameters
            merger = StageMerger(computation)
        }
    }

    final class Run {
        let id: UInt64
        let client: String
        let events: AsyncStream<Latent_Cluster_V1_RunEvent>.Continuation
        var stages: [UInt32: Stage] = [:]
        var queue: [Job] = []
        var leases: [UInt64: (worker: UInt64, job: Job)] = [:]
        var finishedJobs: Set<UInt64> = []
        var documentsDone = 0
        let started = ContinuousClock.now

        init(id: UInt64, client: String, events: AsyncStream<Latent_Cluster_V1_RunEvent>.Continuation) {
            self.id = id
            self.client = client
            self.events = events
        }
    }

    let epoch = UInt64.random(in: 1...UInt64.max)
    let heartbeatTimeout: Duration
    let logger: Logger
    private let started = ContinuousClock.now
    private var workers: [UInt64: WorkerRecord] = [:]
    private var nextWorker: UInt64 = 1
    private var nextRun: UInt64 = 1
    private var nextJob: UInt64 = 1
    private var run: Run?

    init(heartbeatTimeout: Duration, logger: Logger) {
        self.heartbeatTimeout = heartbeatTimeout
        self.logger = logger
    }

    // MARK: Workers

    func register(name: String, threads: Int, peer: String) -> UInt64 {
        let id = nextWorker
        nextWorker += 1
        workers[id] = WorkerRecord(id: id, name: name, peer: peer, threads: threads, lastSeen: .now)
        logger.info("worker #\(id) registered: \(name), \(counted(threads, "thread")), from \(peer) (\(counted(workers.count, "worker")) now)")
        return id
    }

    func heartbeat(worker: UInt64, epoch: UInt64) -> Bool {
        guard isKnown(worker: worker, epoch: epoch) else { return false }
        workers[worker]?.lastSeen = .now
        return true
    }

    func isKnown(worker: UInt64, epoch: UInt64) -> Bool {
        epoch == self.epoch && workers[worker] != nil
    }

    /// Drops workers that missed heartbeats for longer than the timeout; requeues their jobs.
    func sweep() {
        let now = ContinuousClock.now
        for worker in workers.values where now - worker.lastSeen > heartbeatTimeout {
            drop(worker.id, reason: "missed heartbeats for \(roundedSeconds(now - worker.lastSeen)) s")
        }
    }

    private func drop(_ id: UInt64, reason: String) {
        guard let worker = workers.removeValue(forKey: id) else { return }
        let requeued = requeue(worker.leased.sorted(), from: id)
        let jobs = requeued.isEmpty ? "no jobs to requeue" : "requeued job\(requeued.count == 1 ? "" : "s") \(requeued.map { "#\($0)" }.joined(separator: ", "))"
        logger.warning("worker #\(id) (\(worker.name)) \(reason): dropped; \(jobs)")
        if !requeued.isEmpty, let run {
            run.events.yield(.with {
                $0.requeued = .with { $0.workerID = id; $0.jobIds = requeued; $0.reason = reason }
            })
        }
        if workers.isEmpty, run != nil { logger.warning("no workers left: the run waits until one registers") }
    }

    /// Puts leased jobs back at the front of the queue; returns the ids requeued.
    private func requeue(_ jobs: [UInt64], from worker: UInt64) -> [UInt64] {
        guard let run else { return [] }
        var requeued: [UInt64] = []
        for id in jobs.reversed() {
            guard let lease = run.leases[id], lease.worker == worker else { continue }
            run.leases[id] = nil
            run.queue.insert(lease.job, at: 0)
            requeued.append(id)
        }
        return requeued.reversed()
    }

    // MARK: Jobs

    /// The next job for `worker`, leased to it, with its stage's computation and the size of
    /// its parameters; nil when the queue is empty.
    func lease(to worker: UInt64) -> (job: Job, run: UInt64, kind: String, parametersSize: Int)? {
        guard workers[worker] != nil, let run, !run.queue.isEmpty else { return nil }
        let job = run.queue.removeFirst()
        guard let stage = run.stages[job.stage] else { return nil }
        run.leases[job.id] = (worker, job)
        workers[worker]?.leased.insert(job.id)
        logger.debug("leased job #\(job.id) (chunk \(job.chunkIndex) of pass \(job.stage)) to worker #\(worker)")
        return (job, run.id, stage.merger.computation.kind, stage.parameters.count)
    }

    /// The job could not be sent: back to the queue.
    func leaseFailed(job: UInt64, worker: UInt64) {
        workers[worker]?.leased.remove(job)
        let requeued = requeue([job], from: worker)
        if !requeued.isEmpty { logger.warning("job #\(job) could not be sent to worker #\(worker): requeued") }
    }

    func stageParameters(run id: UInt64, stage: UInt32) -> [UInt8]? {
        guard let run, run.id == id else { return nil }
        return run.stages[stage]?.parameters
    }

    /// A job of `run` whose state is still wanted: leased, or requeued after its worker was
    /// dropped and not leased again yet (a late state from that worker is still welcome).
    private func pendingJob(_ id: UInt64, of run: Run) -> Job? {
        guard !run.finishedJobs.contains(id) else { return nil }
        return run.leases[id]?.job ?? run.queue.first { $0.id == id }
    }

    /// Where a returned state goes: the stage's merger and the job's chunk, or nil when the
    /// job is not (or no longer) this worker's to return.
    func resultTarget(worker: UInt64, run id: UInt64, stage: UInt32, job: UInt64)
        -> (merger: StageMerger, chunkIndex: Int, documents: Int)? {
        guard let run, run.id == id, let stageRecord = run.stages[stage],
              let pending = pendingJob(job, of: run), pending.stage == stage else { return nil }
        return (stageRecord.merger, pending.chunkIndex, pending.documents)
    }

    /// Marks a job finished; false when another worker's state for it was taken first.
    func claim(job id: UInt64, worker: UInt64, run runID: UInt64) -> Bool {
        guard let run, run.id == runID, let job = pendingJob(id, of: run) else { return false }
        run.finishedJobs.insert(id)
        if let lease = run.leases.removeValue(forKey: id) {
            workers[lease.worker]?.leased.remove(id)
        } else {
            run.queue.removeAll { $0.id == id }
        }
        if let stage = run.stages[job.stage] {
            stage.finished += 1
            stage.workers.insert(worker)
            if stage.finished == stage.expected { lastJobIn(run, stage) }
        }
        return true
    }

    /// A claimed job's state has been merged in: report it and complete the stage if it was
    /// the last.
    func merged(job id: UInt64, chunkIndex: Int, documents: Int, worker: UInt64, run runID: UInt64, stage: UInt32) async {
        guard let run, run.id == runID, let stageRecord = run.stages[stage] else { return }
        stageRecord.merged += 1
        run.documentsDone += documents
        workers[worker]?.jobsDone += 1
        logger.info("worker #\(worker) finished job #\(id) (chunk \(chunkIndex), \(documents) documents)")
        run.events.yield(.with {
            $0.finished = .with {
                $0.stage = stage; $0.jobID = id; $0.chunkIndex = UInt64(chunkIndex)
                $0.documents = UInt64(documents); $0.workerID = worker
            }
        })
        await completeIfDone(run, stageRecord)
    }

    func jobFailed(run runID: UInt64, message: String) {
        guard let run, run.id == runID else { return }
        logger.error("run #\(runID) failed: \(message)")
        run.events.yield(.with { $0.failed = .with { $0.message = message } })
    }

    // MARK: Clients

    func openRun(client: String, description: String) throws -> (UInt64, AsyncStream<Latent_Cluster_V1_RunEvent>) {
        if let run {
            throw RPCError(code: .resourceExhausted, message:
                "the dispatcher is busy with run #\(run.id) of \(run.client); one run at a time: try again when it ends")
        }
        let (stream, continuation) = AsyncStream<Latent_Cluster_V1_RunEvent>.makeStream()
        let id = nextRun
        nextRun += 1
        run = Run(id: id, client: client, events: continuation)
        logger.info("run #\(id) opened by \(client): \(description); \(counted(workers.count, "worker"))")
        continuation.yield(.with { $0.opened = .with { $0.runID = id; $0.workers = UInt32(workers.count) } })
        return (id, stream)
    }

    /// The client went away or finished: forget the run and its jobs.
    func endRun(_ id: UInt64) {
        guard let run, run.id == id else { return }
        let leased = run.leases.count, queued = run.queue.count
        for key in workers.keys { workers[key]?.leased.removeAll() }
        self.run = nil
        run.events.finish()
        let seconds = roundedSeconds(ContinuousClock.now - run.started)
        if leased + queued > 0 {
            logger.warning("run #\(id) ended by its client with \(queued) jobs queued and \(leased) leased (\(seconds) s)")
        } else {
            logger.info("run #\(id) ended (\(run.documentsDone) documents processed in \(seconds) s)")
        }
    }

    func startStage(run id: UInt64, stage number: UInt32, parameters: [UInt8],
                    computation: any RemoteComputation) throws {
        guard let run, run.id == id else { throw Self.noRun(id) }
        guard run.stages[number] == nil else {
            throw RPCError(code: .alreadyExists, message: "pass \(number) of run #\(id) was already started")
        }
        guard number >= 1, number <= 1000 else {
            throw RPCError(code: .invalidArgument, message: "stage: expected 1 to 1000, got \(number)")
        }
        // A stage's parameters are needed only while it runs; drop finished ones.
        for (key, stage) in run.stages where stage.completed { run.stages[key] = nil }
        run.stages[number] = Stage(number: number, parameters: parameters, computation: computation)
        logger.info("run #\(id), pass \(number): \(computation.name) (\(computation.kind))")
    }

    func computation(run id: UInt64, stage: UInt32) throws -> any RemoteComputation {
        guard let run, run.id == id else { throw Self.noRun(id) }
        guard let stageRecord = run.stages[stage] else {
            throw RPCError(code: .notFound, message: "run #\(id) has no pass \(stage)")
        }
        return stageRecord.merger.computation
    }

    /// Queues a chunk's job if the queue has room (one waiting job per worker thread, at
    /// least two); false when it is full and the client must wait: the backpressure.
    func enqueue(run id: UInt64, stage: UInt32, chunkIndex: Int, firstDocument: Int, documents: Int,
                 payload: [UInt8], sharedPath: String) throws -> UInt64? {
        guard let run, run.id == id else { throw Self.noRun(id) }
        guard let stageRecord = run.stages[stage], stageRecord.expected == nil else {
            throw RPCError(code: .failedPrecondition, message: "run #\(id) has no open pass \(stage)")
        }
        guard !stageRecord.chunkIndices.contains(chunkIndex) else {
            throw RPCError(code: .alreadyExists, message: "chunk \(chunkIndex) of pass \(stage) was already submitted")
        }
        let room = max(2, workers.values.reduce(0) { $0 + $1.threads })
        guard run.queue.count < room else { return nil }
        let job = Job(id: nextJob, stage: stage, chunkIndex: chunkIndex, firstDocument: firstDocument,
                      documents: documents, payload: payload, sharedPath: sharedPath)
        nextJob += 1
        stageRecord.chunkIndices.insert(chunkIndex)
        run.queue.append(job)
        logger.debug("queued job #\(job.id): documents \(firstDocument) to \(firstDocument + documents - 1)")
        return job.id
    }

    func endStage(run id: UInt64, stage: UInt32, chunks: Int) async throws {
        guard let run, run.id == id else { throw Self.noRun(id) }
        guard let stageRecord = run.stages[stage], stageRecord.expected == nil else {
            throw RPCError(code: .failedPrecondition, message: "run #\(id) has no open pass \(stage)")
        }
        guard chunks == stageRecord.chunkIndices.count else {
            throw RPCError(code: .invalidArgument, message: "pass \(stage): \(chunks) chunks announced, \(stageRecord.chunkIndices.count) submitted")
        }
        stageRecord.expected = chunks
        if stageRecord.finished == chunks, chunks > 0 { lastJobIn(run, stageRecord) }
        await completeIfDone(run, stageRecord)
    }

    /// Every job of the pass is in: the merges left are the run's tail.
    private func lastJobIn(_ run: Run, _ stage: Stage) {
        stage.merger.markLastJobIn()
        let count = stage.workers.count
        logger.info("run #\(run.id), pass \(stage.number): all \(stage.finished) jobs in; merging states from \(counted(count, "worker"))")
    }

    private func completeIfDone(_ run: Run, _ stage: Stage) async {
        guard let expected = stage.expected, stage.merged == expected, !stage.completed else { return }
        stage.completed = true
        let workerCount = stage.workers.count
        do {
            let result = try await stage.merger.finish()
            stage.result = result ?? []
            logger.info("run #\(run.id), pass \(stage.number) complete: merged the states of \(expected) jobs from \(counted(workerCount, "worker"))")
            run.events.yield(.with { $0.complete = .with { $0.stage = stage.number; $0.size = UInt64(result?.count ?? 0) } })
        } catch {
            jobFailed(run: run.id, message: "merging the states of pass \(stage.number) failed: \(error)")
        }
    }

    func result(run id: UInt64, stage: UInt32) throws -> [UInt8] {
        guard let run, run.id == id else { throw Self.noRun(id) }
        guard let result = run.stages[stage]?.result else {
            throw RPCError(code: .failedPrecondition, message: "pass \(stage) of run #\(id) is not complete")
        }
        return result
    }

    // MARK: Status

    func status() -> Latent_Cluster_V1_StatusReply {
        let now = ContinuousClock.now
        return .with { reply in
            reply.workers = workers.values.sorted { $0.id < $1.id }.map { worker in
                .with {
                    $0.id = worker.id; $0.name = worker.name; $0.peer = worker.peer; $0.threads = UInt32(worker.threads)
                    $0.jobsLeased = UInt32(worker.leased.count); $0.jobsDone = worker.jobsDone
                    $0.secondsSinceHeartbeat = roundedSeconds(now - worker.lastSeen)
                }
            }
            reply.uptimeSeconds = roundedSeconds(now - started)
            if let run {
                reply.runID = run.id
                reply.runClient = run.client
                reply.jobsQueued = UInt64(run.queue.count)
                reply.jobsLeased = UInt64(run.leases.count)
                reply.jobsDone = UInt64(run.finishedJobs.count)
                reply.documentsDone = UInt64(run.documentsDone)
                let elapsed = roundedSeconds(now - run.started)
                reply.documentsPerSecond = elapsed > 0 ? Double(run.documentsDone) / elapsed : 0
            }
        }
    }

    private static func noRun(_ id: UInt64) -> RPCError {
        RPCError(code: .failedPrecondition, message: "run #\(id) is not the dispatcher's current run")
    }
}
