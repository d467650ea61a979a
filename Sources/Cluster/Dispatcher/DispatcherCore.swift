import Foundation
import LatentModels
import Logging

/// The dispatcher's scheduling as a plain value: its workers, the run in progress (at most
/// one), the run's stages, its queue of jobs and their leases. Every method is synchronous,
/// takes "now" where time matters, and returns what happened or throws a `Refusal`; it
/// performs no I/O, waits for nothing and merges nothing. `DispatcherState` (an actor)
/// wraps it, runs the merges and wakes whoever waits; `DispatcherService` maps its results
/// and refusals to messages and RPC statuses. Its unit tests drive it directly.
///
/// Jobs are leased, not handed over: a lease lasts until the job's state comes back or the
/// worker is dropped (missed heartbeats, or the job could not be sent), and then the job
/// goes back to the front of the queue. A job's state is claimed once, from the worker it
/// is leased to or, after a requeue, from whichever worker finishes it first.
///
/// A run has any number of stages (one per reduction of the client's session), numbered
/// 1, 2, ...; a stage is forgotten once its result is taken, so memory does not grow with
/// the number of stages.
struct DispatcherCore {
    /// Why a request was refused; `DispatcherService` maps the code to an RPC status.
    struct Refusal: Error, Equatable, CustomStringConvertible {
        enum Code: Equatable {
            /// The run named is not the current run.
            case noRun
            /// Another run is in progress.
            case busy
            /// The stage named does not exist, or is not in the state the request needs.
            case stageState
            /// A stage or chunk submitted twice.
            case duplicate
            /// Ids, counts or order that do not hold together.
            case invalid
        }

        let code: Code
        let message: String
        var description: String { message }
    }

    struct Worker {
        let id: UInt64
        let name: String
        let peer: String
        let threads: Int
        var lastSeen: ContinuousClock.Instant
        var leased: Set<UInt64> = []
        var jobsDone: UInt64 = 0
    }

    struct Job: Sendable, Equatable {
        let id: UInt64
        let stage: UInt64
        /// The job's first chunk; it covers 2^`level` chunks (a block: a whole subtree of the
        /// stage's merge tree), of `leafDocuments` documents each, the last possibly fewer.
        let chunkIndex: Int
        var level = 0
        var leafDocuments = 0
        let firstDocument: Int
        let documents: Int
        let payload: [UInt8]
        /// Shared-storage mode: the file the worker reads the documents from.
        let sharedPath: String

        /// The chunks the job covers.
        var chunks: Int { 1 << level }
    }

    struct Stage {
        let number: UInt64
        let computation: any RemoteComputation
        /// As the client sent them: whole, or a change of the stage before (`baseStage`).
        var parameters: [UInt8]
        let baseStage: UInt64
        /// The stage started ahead of the stage before's end: `parameters` are the beginning of
        /// the change, to which the stage before's merged state is appended once merged; its
        /// jobs are queued meanwhile, and leased once every state of the stage before is in
        /// (`Run.isLeasable`), the workers' fetches of its parameters waiting.
        var awaitingBase = false
        let merger: any RemoteMerger
        let firstChunk: Int
        /// The chunks submitted so far (every chunk of a block).
        var submitted: Set<Int> = []
        /// The worker whose state was claimed, by job, and the chunks those jobs cover.
        var claimedFrom: [UInt64: UInt64] = [:]
        var claimedChunks = 0
        /// Chunks whose states are merged.
        var merged = 0
        var jobsMerged = 0
        /// The chunk count, once the client has ended the stage.
        var expected: Int?
        var workers: Set<UInt64> = []
        /// Workers that have been sent the parameters with a job.
        var parametersSent: Set<UInt64> = []
        /// The merged state, encoded, once every state is merged.
        var result: [UInt8]?
    }

    /// Parameters at most this large go with a worker's first job of a stage.
    static let inlineParameters = 64 << 10

    struct Run {
        let id: UInt64
        let client: String
        let description: String
        let started: ContinuousClock.Instant
        /// The name the client gave (without its address, which changes when it reconnects).
        var owner = ""
        var stages: [UInt64: Stage] = [:]
        var lastStage: UInt64 = 0
        /// The parameters of the stages from the last one sent whole on, in order (each after
        /// the first a change of the one before), and the computation of that first one: what
        /// a worker that holds none of them rebuilds the latest from. `appended`: how many of a
        /// change's last bytes are the merged state of the stage before (0: none).
        var chain: [(stage: UInt64, parameters: [UInt8], appended: Int)] = []
        /// Which worker sent each claimed state of the last complete stage, by job.
        var lastClaims: (stage: UInt64, claims: [UInt64: UInt64])?
        var chainBase: (any RemoteComputation)?
        /// The merged state of the last complete stage, while the next stage's change may end
        /// with it (`appendingResult`): kept only for a computation that takes changes, and
        /// only when it fits the chain's allowance.
        var lastResult: (stage: UInt64, bytes: [UInt8])?
        var queue: [Job] = []

        /// Whether `job` may be leased: any job but one of a stage started ahead whose stage
        /// before still waits for a state. Such a job goes out once every state of the stage
        /// before is in, before that stage is merged and this one's parameters are made: its
        /// worker then has the chunks at hand, and its FetchStage waits for the parameters
        /// (`awaitsBase`), which no longer depend on any worker. Sooner, a worker waiting so
        /// could hold up the stage before: a job of it requeued from a dropped worker may have
        /// none other to run it.
        func isLeasable(_ job: Job) -> Bool {
            guard let stage = stages[job.stage], stage.awaitingBase else { return true }
            guard let base = stages[stage.baseStage], let expected = base.expected else { return false }
            return base.claimedChunks == expected
        }

        /// Whether stage `number` is the last one and still running: its parameters made, its
        /// merged state not in yet.
        func isRunning(_ number: UInt64) -> Bool {
            guard number != 0, number == lastStage, let stage = stages[number] else { return false }
            return stage.result == nil && !stage.awaitingBase
        }

        var leases: [UInt64: (worker: UInt64, job: Job, since: ContinuousClock.Instant)] = [:]
        /// How long the last jobs took from lease to state (at most 256), for the lease limit.
        var jobSeconds: [Double] = []
        var documentsDone = 0
        var jobsDone: UInt64 = 0
    }

    /// A job leased to a worker, with what it needs to run it: the stage's parameters
    /// themselves when they are small and the worker has not had them yet.
    struct Lease: Sendable {
        let job: Job
        let run: UInt64
        let kind: String
        let parametersSize: Int
        let parameters: [UInt8]?
    }

    /// A worker dropped by `sweep`, and the jobs that went back to the queue.
    struct Dropped: Equatable {
        let worker: UInt64
        let name: String
        let reason: String
        let requeued: [UInt64]
    }

    /// Where a returned state goes: the job's stage merger and chunk.
    struct Target {
        let stage: UInt64
        let merger: any RemoteMerger
        let chunkIndex: Int
        let level: Int
        let documents: Int

        var chunks: Int { 1 << level }
    }

    /// What an ended run left behind.
    struct Ended: Equatable {
        let id: UInt64
        let queued: Int
        let leased: Int
        let documentsDone: Int
        let seconds: Double
    }

    /// What the dispatcher has done since it started (`/metrics`).
    struct Counters: Equatable {
        var workersRegistered = 0
        var workersDropped = 0
        var runsOpened = 0
        var stagesStarted = 0
        var stagesCompleted = 0
        var jobsQueued = 0
        var jobsLeased = 0
        var jobsDone = 0
        /// Jobs put back in the queue: their worker was dropped, the lease could not be sent.
        var jobsRequeued = 0
        /// Leases that passed the lease limit (their jobs requeued for any worker).
        var leasesExpired = 0
        /// States taken from a worker other than the job's current lessee, or for a job
        /// back in the queue.
        var lateStatesTaken = 0
        /// States that came after another state of the same job was taken, or for a run or
        /// stage that is gone.
        var statesUnwanted = 0
        var documentsDone = 0
    }

    let epoch: UInt64
    let heartbeatTimeout: Duration
    /// The shortest a lease may last before its job is requeued (`leaseLimit(of:)`).
    let minimumLease: Duration
    let logger: Logger
    private(set) var workers: [UInt64: Worker] = [:]
    private(set) var run: Run?
    /// Totals since the dispatcher started, for its metrics.
    private(set) var counters = Counters()
    private var nextWorker: UInt64 = 1
    private var nextRun: UInt64 = 1
    private var nextJob: UInt64 = 1

    init(epoch: UInt64 = UInt64.random(in: 1...UInt64.max), heartbeatTimeout: Duration, minimumLease: Duration = .seconds(60),
         logger: Logger) {
        self.epoch = epoch
        self.heartbeatTimeout = heartbeatTimeout
        self.minimumLease = minimumLease
        self.logger = logger
    }

    // MARK: Workers

    mutating func register(name: String, threads: Int, peer: String, now: ContinuousClock.Instant) -> UInt64 {
        let id = nextWorker
        nextWorker += 1
        workers[id] = Worker(id: id, name: name, peer: peer, threads: threads, lastSeen: now)
        counters.workersRegistered += 1
        logger.info("worker #\(id) registered: \(name), \(counted(threads, "thread")), from \(peer) (\(counted(workers.count, "worker")) now)")
        return id
    }

    func isKnown(worker: UInt64, epoch: UInt64) -> Bool {
        epoch == self.epoch && workers[worker] != nil
    }

    mutating func heartbeat(worker: UInt64, epoch: UInt64, now: ContinuousClock.Instant) -> Bool {
        guard isKnown(worker: worker, epoch: epoch) else { return false }
        workers[worker]?.lastSeen = now
        return true
    }

    /// Drops the workers silent for longer than the timeout; their jobs go back to the queue.
    mutating func sweep(now: ContinuousClock.Instant) -> [Dropped] {
        let silent = workers.values.filter { now - $0.lastSeen > heartbeatTimeout }.sorted { $0.id < $1.id }
        return silent.map { drop($0.id, reason: "missed heartbeats for \(roundedSeconds(now - $0.lastSeen)) s") }
            + expireLeases(now: now)
    }

    /// Drops the workers registered over the connection from `peer` (gRPC's "ipv4:HOST:PORT"),
    /// which has closed: a worker that died is noticed at once, not a heartbeat timeout later.
    mutating func connectionClosed(peer: String) -> [Dropped] {
        workers.values.filter { $0.peer == peer }.sorted { $0.id < $1.id }.map { drop($0.id, reason: "closed its connection") }
    }

    /// How long a lease may last: ten times the median of the run's job times so far, and at
    /// least `minimumLease`.
    func leaseLimit(of run: Run) -> Duration {
        let times = run.jobSeconds.sorted()
        guard !times.isEmpty else { return minimumLease }
        return max(minimumLease, .milliseconds(Int(10_000 * times[times.count / 2])))
    }

    /// Jobs leased for longer than the limit go back to the front of the queue, for any
    /// worker (their worker stays: a worker that heartbeats but never answers cannot stall
    /// the run). The first valid state for such a job is taken, whoever sends it.
    private mutating func expireLeases(now: ContinuousClock.Instant) -> [Dropped] {
        guard var run else { return [] }
        let limit = leaseLimit(of: run)
        var expired: [Dropped] = []
        for (id, lease) in run.leases.sorted(by: { $0.key > $1.key }) where now - lease.since > limit {
            run.leases[id] = nil
            run.queue.insert(lease.job, at: 0)
            workers[lease.worker]?.leased.remove(id)
            counters.leasesExpired += 1
            let reason = "held job #\(id) for \(roundedSeconds(now - lease.since)) s, over the lease limit of \(roundedSeconds(limit)) s"
            logger.warning("worker #\(lease.worker) (\(workers[lease.worker]?.name ?? "?")) \(reason): requeued; the first state to arrive is taken")
            expired.append(Dropped(worker: lease.worker, name: workers[lease.worker]?.name ?? "", reason: reason, requeued: [id]))
        }
        self.run = run
        return expired.reversed()
    }

    private mutating func drop(_ id: UInt64, reason: String) -> Dropped {
        let worker = workers.removeValue(forKey: id)
        counters.workersDropped += 1
        let requeued = requeue(worker?.leased.sorted() ?? [], from: id)
        let jobs = requeued.isEmpty ? "no jobs to requeue"
            : "requeued job\(requeued.count == 1 ? "" : "s") \(requeued.map { "#\($0)" }.joined(separator: ", "))"
        logger.warning("worker #\(id) (\(worker?.name ?? "?")) \(reason): dropped; \(jobs)")
        if workers.isEmpty, run != nil { logger.warning("no workers left: the run waits until one registers") }
        return Dropped(worker: id, name: worker?.name ?? "", reason: reason, requeued: requeued)
    }

    /// Puts leased jobs back at the front of the queue, in order; returns the ids requeued.
    private mutating func requeue(_ jobs: [UInt64], from worker: UInt64) -> [UInt64] {
        guard var run else { return [] }
        var requeued: [UInt64] = []
        for id in jobs.reversed() {
            guard let lease = run.leases[id], lease.worker == worker else { continue }
            run.leases[id] = nil
            run.queue.insert(lease.job, at: 0)
            requeued.append(id)
        }
        counters.jobsRequeued += requeued.count
        self.run = run
        return requeued.reversed()
    }

    // MARK: Jobs

    /// The next job, leased to `worker`; nil when the queue is empty (or the worker unknown).
    mutating func lease(to worker: UInt64, now: ContinuousClock.Instant = .now) -> Lease? {
        guard workers[worker] != nil, var run, let front = run.queue.first, run.isLeasable(front) else { return nil }
        let job = run.queue.removeFirst()
        guard var stage = run.stages[job.stage] else {
            self.run = run
            return nil
        }
        run.leases[job.id] = (worker, job, now)
        let include = stage.baseStage == 0 && stage.parameters.count <= Self.inlineParameters
            && stage.parametersSent.insert(worker).inserted
        run.stages[job.stage] = stage
        self.run = run
        workers[worker]?.leased.insert(job.id)
        counters.jobsLeased += 1
        logger.debug("leased job #\(job.id) (chunk \(job.chunkIndex), stage \(job.stage)) to worker #\(worker)")
        return Lease(job: job, run: run.id, kind: stage.computation.kind, parametersSize: stage.parameters.count,
                     parameters: include ? stage.parameters : nil)
    }

    /// The job could not be sent to `worker`: back to the front of the queue.
    mutating func leaseFailed(job: UInt64, worker: UInt64) {
        workers[worker]?.leased.remove(job)
        if !requeue([job], from: worker).isEmpty {
            logger.warning("job #\(job) could not be sent to worker #\(worker): requeued")
        }
    }

    /// What a worker that holds stage `held`'s computation (0: none) needs for stage `stage`'s,
    /// as the bundle FetchStage sends (see latent.proto); nil when the run or the stage is gone.
    /// `worker` and `ownJobs` (the jobs of the stage before whose states the worker holds): when
    /// those are every job of the stage before, each with its state in from the worker or
    /// leased to it (`changeBeginning`), and stage `stage` is a change that ends with that
    /// stage's merged state, only the change's beginning (form 2): the worker appends the merge
    /// of its own states.
    func stageParameters(run id: UInt64, stage: UInt64, held: UInt64, worker: UInt64 = 0,
                         ownJobs: Set<UInt64> = []) -> [UInt8]? {
        if !ownJobs.isEmpty, held + 1 == stage, let beginning = changeBeginning(run: id, stage: stage, worker: worker, ownJobs: ownJobs) {
            logger.info("run #\(id), stage \(stage): the change's beginning to worker #\(worker), which merges its own \(counted(ownJobs.count, "state")) of stage \(held)")
            return Self.bundle([(2, stage, beginning)])
        }
        guard let run, run.id == id, run.stages[stage] != nil,
              let last = run.chain.firstIndex(where: { $0.stage == stage }) else { return nil }
        let first = run.chain.firstIndex(where: { $0.stage == held }).map { $0 < last ? $0 + 1 : 0 } ?? 0
        return Self.bundle((first...last).map { (form: $0 == 0 ? 0 : 1, stage: run.chain[$0].stage, bytes: run.chain[$0].parameters) })
    }

    /// A FetchStage bundle of `entries` (see latent.proto): form 0 whole parameters, 1 a change
    /// of the stage before, 2 the beginning of a change that ends with its merged state.
    private static func bundle(_ entries: [(form: Int, stage: UInt64, bytes: [UInt8])]) -> [UInt8] {
        var writer = PortableWriter(reservingCapacity: entries.reduce(16) { $0 + $1.bytes.count + 24 })
        writer.write(entries.count)
        for entry in entries {
            writer.write(entry.form)
            writer.write(Int(entry.stage))
            writer.write(array: entry.bytes)
        }
        return writer.bytes
    }

    /// The beginning of stage `stage`'s change, when it ends with the merged state of the stage
    /// before and every job of that stage is `worker`'s, the jobs `ownJobs` (see
    /// `stageParameters`): its state in from the worker, or the job leased to it (the worker
    /// holds the state it is sending; the same bytes whoever computes a job, so a lease that
    /// later goes elsewhere changes nothing). Nil otherwise, or while a job of that stage is
    /// queued or the client has not ended it.
    private func changeBeginning(run id: UInt64, stage: UInt64, worker: UInt64, ownJobs: Set<UInt64>) -> [UInt8]? {
        guard let run, run.id == id, let record = run.stages[stage], record.baseStage + 1 == stage else { return nil }
        let base = record.baseStage
        let claims: [UInt64: UInt64]
        if let before = run.stages[base], let expected = before.expected {
            let leased = run.leases.filter { $0.value.job.stage == base }
            let leasedChunks = leased.values.reduce(0) { $0 + $1.job.chunks }
            guard leased.values.allSatisfy({ $0.worker == worker }), before.claimedChunks + leasedChunks == expected else { return nil }
            claims = before.claimedFrom.merging(leased.mapValues(\.worker)) { claimed, _ in claimed }
        } else if let last = run.lastClaims, last.stage == base {
            claims = last.claims
        } else {
            return nil
        }
        guard Set(claims.keys) == ownJobs, claims.values.allSatisfy({ $0 == worker }) else { return nil }
        if record.awaitingBase { return record.parameters }
        guard let entry = run.chain.last(where: { $0.stage == stage }), entry.appended > 0,
              entry.appended <= entry.parameters.count else { return nil }
        return Array(entry.parameters.dropLast(entry.appended))
    }

    /// The computation a change for stage `number` of run `id`, made from stage `base`, applies
    /// to: the run's last computation sent whole (a change keeps how states decode and merge).
    func chainBase(run id: UInt64, stage number: UInt64, base: UInt64, kind: String, size: Int) throws(Refusal) -> any RemoteComputation {
        guard let run, run.id == id else { throw Self.noRun(id) }
        guard base == run.lastStage, number == base + 1, let computation = run.chainBase,
              let wholeSize = run.chain.first?.parameters.count else {
            throw Refusal(code: .invalid, message: "stage \(number) of run #\(id): a change of stage \(base), but the stage before is \(run.lastStage)\(run.chainBase == nil ? " and none was sent whole" : "")")
        }
        guard computation.kind == kind else {
            throw Refusal(code: .invalid, message: "stage \(number) of run #\(id): a change of \(computation.kind) for \(kind)")
        }
        let changes = run.chain.dropFirst().reduce(0) { $0 + $1.parameters.count } + size
        guard changes <= ClusterLimits.changeAllowance(wholeSize: wholeSize) else {
            throw Refusal(code: .invalid, message: "stage \(number) of run #\(id): changes of \(changes) bytes since the last parameters sent whole (\(wholeSize) bytes); at most \(ClusterLimits.changeAllowance(wholeSize: wholeSize)) are held")
        }
        return computation
    }

    /// The change for the stage after `base` of which the client sent only the beginning: the
    /// beginning with stage `base`'s merged state appended (`StageHeader.appends_base_result`);
    /// nil while stage `base` is still running (the stage then starts ahead of its end,
    /// `startStage(awaitingBase:)`).
    func appendingResult(run id: UInt64, base: UInt64, to beginning: [UInt8]) throws(Refusal) -> [UInt8]? {
        guard let run, run.id == id else { throw Self.noRun(id) }
        if run.isRunning(base) { return nil }
        guard base != 0, let held = run.lastResult, held.stage == base else {
            throw Refusal(code: .invalid, message: "run #\(id): a change ending with the merged state of stage \(base), which the dispatcher does not hold")
        }
        return beginning + held.bytes
    }

    /// Whether stage `stage` of run `id` was started ahead and still waits for the merged
    /// state of the stage before to end its parameters.
    func awaitsBase(run id: UInt64, stage: UInt64) -> Bool {
        run?.id == id && run?.stages[stage]?.awaitingBase == true
    }

    /// A job of the run whose state is still wanted: leased, or requeued after its worker
    /// was dropped and not leased again yet (a late state from that worker is still welcome).
    private func pendingJob(_ id: UInt64, of run: Run) -> Job? {
        run.leases[id]?.job ?? run.queue.first { $0.id == id }
    }

    /// Where the state of `job` goes; nil when it is not (or no longer) wanted.
    func target(run id: UInt64, stage: UInt64, job: UInt64) -> Target? {
        guard let run, run.id == id, let stageRecord = run.stages[stage], stageRecord.claimedFrom[job] == nil,
              let pending = pendingJob(job, of: run), pending.stage == stage else { return nil }
        return Target(stage: stage, merger: stageRecord.merger, chunkIndex: pending.chunkIndex, level: pending.level,
                      documents: pending.documents)
    }

    /// Takes the state of `job` from `worker`; false when the job's state is not wanted (a
    /// state for it was taken first, or its run or stage is gone). When it was the stage's
    /// last job, says so (the merges left are then the run's tail).
    mutating func claim(job id: UInt64, worker: UInt64, run runID: UInt64,
                        now: ContinuousClock.Instant = .now) -> (claimed: Bool, lastJobIn: Bool) {
        guard var run, run.id == runID, let job = pendingJob(id, of: run), var stage = run.stages[job.stage],
              stage.claimedFrom[id] == nil else {
            counters.statesUnwanted += 1
            return (false, false)
        }
        stage.claimedFrom[id] = worker
        stage.claimedChunks += job.chunks
        stage.workers.insert(worker)
        if let lease = run.leases.removeValue(forKey: id) {
            workers[lease.worker]?.leased.remove(id)
            if lease.worker == worker {
                run.jobSeconds.append((now - lease.since) / .seconds(1))
                if run.jobSeconds.count > 256 { run.jobSeconds.removeFirst() }
            } else {
                counters.lateStatesTaken += 1
            }
        } else {
            run.queue.removeAll { $0.id == id }
            counters.lateStatesTaken += 1
        }
        let lastJobIn = stage.claimedChunks == stage.expected
        run.stages[job.stage] = stage
        self.run = run
        if lastJobIn { logLastJobIn(stage) }
        return (true, lastJobIn)
    }

    /// A claimed state has been merged in. Returns whether every state of the stage is now
    /// merged (the caller then finishes the merger and calls `completed`).
    mutating func merged(job id: UInt64, stage number: UInt64, chunkIndex: Int, chunks: Int = 1, documents: Int,
                         worker: UInt64, run runID: UInt64) -> Bool {
        guard var run, run.id == runID, var stage = run.stages[number] else { return false }
        stage.merged += chunks
        stage.jobsMerged += 1
        run.documentsDone += documents
        run.jobsDone += 1
        counters.jobsDone += 1
        counters.documentsDone += documents
        run.stages[number] = stage
        self.run = run
        workers[worker]?.jobsDone += 1
        logger.info("worker #\(worker) finished job #\(id) (\(chunkSpan(chunkIndex, count: chunks)), \(documents) documents)")
        return stage.expected == stage.merged
    }

    // MARK: Runs and stages

    mutating func openRun(client: String, owner: String = "", description: String,
                          now: ContinuousClock.Instant) throws(Refusal) -> UInt64 {
        if let run {
            throw Refusal(code: .busy, message:
                "the dispatcher is busy with run #\(run.id) of \(run.client); one run at a time: try again when it ends")
        }
        let id = nextRun
        nextRun += 1
        run = Run(id: id, client: client, description: description, started: now)
        run?.owner = owner
        counters.runsOpened += 1
        logger.info("run #\(id) opened by \(client): \(description); \(counted(workers.count, "worker"))")
        return id
    }

    /// The client went away or finished: forget the run, its stages and jobs.
    mutating func endRun(_ id: UInt64, now: ContinuousClock.Instant) -> Ended? {
        guard let run, run.id == id else { return nil }
        for key in workers.keys { workers[key]?.leased.removeAll() }
        self.run = nil
        let ended = Ended(id: id, queued: run.queue.count, leased: run.leases.count, documentsDone: run.documentsDone,
                          seconds: roundedSeconds(now - run.started))
        if ended.queued + ended.leased > 0 {
            logger.warning("run #\(id) ended by its client with \(ended.queued) jobs queued and \(ended.leased) leased (\(ended.seconds) s, \(run.lastStage) stages)")
        } else {
            logger.info("run #\(id) ended (\(ended.documentsDone) documents processed in \(ended.seconds) s, \(run.lastStage) stages)")
        }
        return ended
    }

    /// Opens stage `number` (the next after the last) for `computation`, whose reduction
    /// starts at chunk `firstChunk` of its pass.
    /// `parameters` are whole (`baseStage` 0) or a change of stage `baseStage`, the one before;
    /// for a change, `computation` is the chain's base (`chainBase`).
    /// `awaitingBase`: `parameters` are the beginning of a change that ends with the merged
    /// state of stage `baseStage`, still running; the stage starts ahead, and its parameters
    /// are made when that state is (`completed`). One stage at a time may wait so.
    mutating func startStage(run id: UInt64, stage number: UInt64, computation: any RemoteComputation,
                             parameters: [UInt8], baseStage: UInt64, merger: any RemoteMerger, firstChunk: Int,
                             appendedResult: Bool = false, awaitingBase: Bool = false) throws(Refusal) {
        guard var run, run.id == id else { throw Self.noRun(id) }
        guard number == run.lastStage + 1 else {
            throw Refusal(code: number <= run.lastStage ? .duplicate : .invalid,
                          message: "stage \(number) of run #\(id): expected stage \(run.lastStage + 1) next")
        }
        if let waiting = run.stages.values.first(where: \.awaitingBase) {
            throw Refusal(code: .invalid, message: "stage \(number) of run #\(id): stage \(waiting.number) still waits for the merged state of the stage before it")
        }
        var parameters = parameters, awaiting = awaitingBase
        var appended = appendedResult ? run.lastResult.map { $0.stage == baseStage ? $0.bytes.count : 0 } ?? 0 : 0
        if awaiting, let held = run.lastResult, held.stage == baseStage {
            // The stage before ended since the beginning came.
            parameters += held.bytes
            appended = held.bytes.count
            awaiting = false
        }
        if baseStage == 0 {
            guard !awaiting else { throw Refusal(code: .invalid, message: "stage \(number) of run #\(id): whole parameters cannot wait for a merged state") }
            run.chain = [(number, parameters, 0)]
            run.chainBase = computation
        } else {
            guard baseStage == run.lastStage, run.chain.last?.stage == baseStage else {
                throw Refusal(code: .invalid, message: "stage \(number) of run #\(id): a change of stage \(baseStage), which is not the one before")
            }
            if awaiting {
                guard run.isRunning(baseStage) else {
                    throw Refusal(code: .invalid, message: "stage \(number) of run #\(id): a change ending with the merged state of stage \(baseStage), which the dispatcher does not hold")
                }
            } else {
                run.chain.append((number, parameters, appended))
            }
        }
        run.lastStage = number
        run.lastResult = nil
        run.stages[number] = Stage(number: number, computation: computation, parameters: parameters, baseStage: baseStage,
                                   awaitingBase: awaiting, merger: merger, firstChunk: firstChunk)
        self.run = run
        counters.stagesStarted += 1
        let form = baseStage == 0 ? ""
            : awaiting ? ", a change of stage \(baseStage) started ahead: its merged state is appended when it ends"
            : ", a change of stage \(baseStage)\(appendedResult ? " ending with its merged state" : "")"
        logger.info("run #\(id), stage \(number): \(computation.name) (\(computation.kind), \(byteCount(parameters.count)) of parameters\(form))")
    }

    /// Queues a chunk's job, or a block's (2^`level` chunks from `chunkIndex`, a whole subtree
    /// of the stage's merge tree), if the queue has room (one waiting job per worker thread,
    /// at least two); nil when the client must wait: the backpressure.
    mutating func enqueue(run id: UInt64, stage number: UInt64, chunkIndex: Int, level: Int = 0, leafDocuments: Int = 0,
                          firstDocument: Int, documents: Int, payload: [UInt8], sharedPath: String) throws(Refusal) -> UInt64? {
        guard var run, run.id == id else { throw Self.noRun(id) }
        guard var stage = run.stages[number], stage.expected == nil else {
            throw Refusal(code: .stageState, message: "run #\(id) has no open stage \(number)")
        }
        guard chunkIndex >= stage.firstChunk else {
            throw Refusal(code: .invalid, message: "chunk \(chunkIndex) of stage \(number): the stage starts at chunk \(stage.firstChunk)")
        }
        guard level >= 0, level <= Self.maximumLevel, (chunkIndex - stage.firstChunk) % (1 << level) == 0 else {
            throw Refusal(code: .invalid, message: "chunks \(chunkIndex) to \(chunkIndex + (1 << min(max(level, 0), Self.maximumLevel)) - 1) of stage \(number): not a block of its merge tree (2^level chunks, at most 2^\(Self.maximumLevel), from a multiple of 2^level after the stage's first chunk \(stage.firstChunk))")
        }
        let chunks = chunkIndex..<(chunkIndex + (1 << level))
        guard !chunks.contains(where: stage.submitted.contains) else {
            throw Refusal(code: .duplicate, message: "chunk \(chunks.first { stage.submitted.contains($0) } ?? chunkIndex) of stage \(number) was already submitted")
        }
        guard run.queue.count < queueRoom else { return nil }
        let job = Job(id: nextJob, stage: number, chunkIndex: chunkIndex, level: level, leafDocuments: leafDocuments,
                      firstDocument: firstDocument, documents: documents, payload: payload, sharedPath: sharedPath)
        nextJob += 1
        stage.submitted.formUnion(chunks)
        run.stages[number] = stage
        run.queue.append(job)
        self.run = run
        counters.jobsQueued += 1
        logger.debug("queued job #\(job.id): documents \(firstDocument) to \(firstDocument + documents - 1)")
        return job.id
    }

    /// The largest block a job may cover: 2^16 chunks.
    static let maximumLevel = 16

    /// Jobs the queue holds before the client must wait: one per worker thread, at least two.
    var queueRoom: Int { max(2, workerThreads) }

    /// The threads of the workers registered now.
    var workerThreads: Int { workers.values.reduce(0) { $0 + $1.threads } }

    /// Whether a chunk would be queued now.
    var hasRoom: Bool { (run?.queue.count ?? 0) < queueRoom }

    /// The client has submitted `chunks` chunks to the stage and no more will come. Returns
    /// whether every state is already merged (then the caller finishes the merger).
    mutating func endStage(run id: UInt64, stage number: UInt64, chunks: Int) throws(Refusal) -> Bool {
        guard var run, run.id == id else { throw Self.noRun(id) }
        guard var stage = run.stages[number], stage.expected == nil else {
            throw Refusal(code: .stageState, message: "run #\(id) has no open stage \(number)")
        }
        guard chunks == stage.submitted.count else {
            throw Refusal(code: .invalid, message: "stage \(number): \(chunks) chunks announced, \(stage.submitted.count) submitted")
        }
        stage.expected = chunks
        run.stages[number] = stage
        self.run = run
        if chunks > 0, stage.claimedChunks == chunks { logLastJobIn(stage) }
        return stage.merged == chunks
    }

    /// The stage's merged state (empty when it had no chunk); `inline`: it goes with the
    /// stage's event, and the stage is forgotten now (else it is kept for a `FetchResult`).
    /// A stage started ahead of this one's end gets its parameters: returns whether one did
    /// (its jobs may be leased now).
    @discardableResult
    mutating func completed(run id: UInt64, stage number: UInt64, result: [UInt8], inline: Bool) -> Bool {
        guard var run, run.id == id, var stage = run.stages[number] else { return false }
        counters.stagesCompleted += 1
        logger.info("run #\(id), stage \(number) complete: merged the states of \(stage.jobsMerged) jobs\(stage.jobsMerged == stage.merged ? "" : " (\(counted(stage.merged, "chunk")))") from \(counted(stage.workers.count, "worker")) (\(byteCount(result.count)))")
        let held = stage.computation.takesChanges
            && run.chain.first.map { ClusterLimits.holdsMergedState(size: result.count, wholeSize: $0.parameters.count) } == true
        run.lastResult = held ? (number, result) : nil
        run.lastClaims = (number, stage.claimedFrom)
        if inline {
            run.stages[number] = nil
        } else {
            stage.result = result
            run.stages[number] = stage
        }
        var formed = false
        if var next = run.stages[number + 1], next.awaitingBase, next.baseStage == number {
            next.parameters += result
            next.awaitingBase = false
            run.chain.append((next.number, next.parameters, result.count))
            run.stages[next.number] = next
            formed = true
            logger.info("run #\(id), stage \(next.number): parameters made (\(byteCount(next.parameters.count)), the change ending with stage \(number)'s merged state)")
        }
        self.run = run
        return formed
    }

    /// Hands over a complete stage's result, and forgets the stage.
    mutating func takeResult(run id: UInt64, stage number: UInt64) throws(Refusal) -> [UInt8] {
        guard var run, run.id == id else { throw Self.noRun(id) }
        guard let result = run.stages[number]?.result else {
            throw Refusal(code: .stageState, message: "stage \(number) of run #\(id) is not complete")
        }
        run.stages[number] = nil
        self.run = run
        return result
    }

    /// The computation of an open stage, to check chunks against.
    func computation(run id: UInt64, stage number: UInt64) throws(Refusal) -> any RemoteComputation {
        guard let run, run.id == id else { throw Self.noRun(id) }
        guard let stage = run.stages[number] else {
            throw Refusal(code: .stageState, message: "run #\(id) has no stage \(number)")
        }
        return stage.computation
    }

    /// The merger of a stage of the current run.
    func merger(run id: UInt64, stage number: UInt64) -> (any RemoteMerger)? {
        guard let run, run.id == id else { return nil }
        return run.stages[number]?.merger
    }

    /// Whether `id` is the current run (a job of it failed, or a merge of it did).
    func isCurrent(run id: UInt64) -> Bool { run?.id == id }

    private func logLastJobIn(_ stage: Stage) {
        guard let run else { return }
        logger.info("run #\(run.id), stage \(stage.number): all \(stage.claimedFrom.count) jobs\(stage.claimedFrom.count == stage.claimedChunks ? "" : " (\(counted(stage.claimedChunks, "chunk")))") in; merging states from \(counted(stage.workers.count, "worker"))")
    }

    private static func noRun(_ id: UInt64) -> Refusal {
        Refusal(code: .noRun, message: "run #\(id) is not the dispatcher's current run")
    }

    // MARK: Status

    struct Status: Equatable {
        struct WorkerStatus: Equatable {
            let id: UInt64
            let name: String
            let peer: String
            let threads: Int
            let leased: Int
            let jobsDone: UInt64
            let secondsSinceHeartbeat: Double
            /// How long its oldest lease has lasted; 0 with none.
            let oldestLeaseSeconds: Double
        }

        let workers: [WorkerStatus]
        let run: UInt64?
        let client: String
        let queued: Int
        let leased: Int
        let jobsDone: UInt64
        let documentsDone: Int
        let seconds: Double
        let stages: UInt64
        /// Stages held in memory now (open, or complete with a result not yet taken).
        let stagesHeld: Int
    }

    func status(now: ContinuousClock.Instant) -> Status {
        Status(
            workers: workers.values.sorted { $0.id < $1.id }.map { worker in
                let oldest = worker.leased.compactMap { run?.leases[$0]?.since }.min()
                return .init(id: worker.id, name: worker.name, peer: worker.peer, threads: worker.threads,
                             leased: worker.leased.count, jobsDone: worker.jobsDone,
                             secondsSinceHeartbeat: roundedSeconds(now - worker.lastSeen),
                             oldestLeaseSeconds: oldest.map { roundedSeconds(now - $0) } ?? 0)
            },
            run: run?.id, client: run?.client ?? "", queued: run?.queue.count ?? 0, leased: run?.leases.count ?? 0,
            jobsDone: run?.jobsDone ?? 0, documentsDone: run?.documentsDone ?? 0,
            seconds: run.map { roundedSeconds(now - $0.started) } ?? 0, stages: run?.lastStage ?? 0,
            stagesHeld: run?.stages.count ?? 0)
    }
}

/// "12 bytes", "3.4 MB".
func byteCount(_ bytes: Int) -> String {
    bytes < 10_000 ? "\(bytes) bytes" : bytes < 10_000_000 ? String(format: "%.1f kB", Double(bytes) / 1e3)
        : String(format: "%.1f MB", Double(bytes) / 1e6)
}
