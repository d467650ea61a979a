import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatentCorpus
import LatentLinearAlgebra
import LatentModels
import Logging

/// `latent worker`: takes jobs from a dispatcher, runs them and returns their partial
/// states, for any number of runs one after another. It registers, sends heartbeats, and
/// when the dispatcher goes away or restarts it registers again by itself.
public struct Worker: Sendable {
    public struct Options: Sendable {
        public var dispatcher: ClusterAddress
        public var security: ClusterSecurity
        /// Jobs run at once (each on one core).
        public var threads: Int
        /// How the dispatcher's logs name this worker.
        public var name: String

        public init(dispatcher: ClusterAddress = .defaultDispatcher, security: ClusterSecurity = ClusterSecurity(),
                    threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                    name: String = ProcessInfo.processInfo.hostName) {
            self.dispatcher = dispatcher
            self.security = security
            self.threads = threads
            self.name = name
        }
    }

    public let options: Options
    /// The computations jobs may run; a job of any other kind fails.
    public let registry: ComputationRegistry
    let logger: Logger
    /// Fault injection for the cluster's tests: each job waits this long before it runs
    /// (`LATENT_TEST_JOB_DELAY_MS`), so a test can kill a worker while it holds a lease.
    let jobDelay: TimeInterval

    public init(options: Options, registry: ComputationRegistry, logger: Logger) throws {
        guard options.threads >= 1, options.threads <= 4096 else {
            throw ClusterError(.invalidConfiguration, "--threads: expected 1 to 4096, got \(options.threads)")
        }
        try options.security.check()
        self.options = options
        self.registry = registry
        self.logger = logger
        let delay = ProcessInfo.processInfo.environment["LATENT_TEST_JOB_DELAY_MS"].flatMap { Int($0) } ?? 0
        jobDelay = Double(max(0, delay)) / 1000
    }

    /// Works until the task is cancelled.
    public func run() async throws {
        // Jobs run side by side, one core each.
        ComputeThreads.share(options.threads, among: options.threads)
        // States go back on a connection of their own: a large upload and a job's download
        // on one HTTP/2 connection at once made grpc-swift close it ("Stream unexpectedly
        // closed"); apart, each also gets the whole flow-control window.
        try await Transport.withDispatcher(options.dispatcher, security: options.security) { client in
            try await Transport.withDispatcher(options.dispatcher, security: options.security) { uploads in
                try await serve(client, uploads: uploads)
            }
        }
    }

    /// Registers, works until the dispatcher is lost, and registers again, until cancelled.
    private func serve(_ client: DispatcherClient, uploads uploadClient: DispatcherClient) async throws {
        var waitingSaid = false
        while !Task.isCancelled {
            let registration: Latent_Cluster_V1_RegisterReply
            do {
                registration = try await client.register(
                    .with {
                        $0.name = options.name; $0.threads = UInt32(options.threads)
                        $0.protocolVersion = ClusterProtocol.version
                    },
                    options: Transport.callOptions(timeout: .seconds(2)))
            } catch let error as RPCError where error.code == .unauthenticated || error.code == .failedPrecondition {
                throw ClusterError(.refused, "the dispatcher at \(options.dispatcher) refused this worker: \(error.message)")
            } catch {
                if !waitingSaid {
                    if let reason = await TLSProbe.diagnose(options.dispatcher, security: options.security) {
                        logger.error("the TLS connection to the dispatcher at \(options.dispatcher) failed: \(reason); retrying")
                    } else {
                        logger.info("waiting for the dispatcher at \(options.dispatcher) (\(describe(error)))")
                    }
                    waitingSaid = true
                }
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            waitingSaid = false
            if let mismatch = ClusterProtocol.mismatch("the dispatcher at \(options.dispatcher)", speaks: registration.protocolVersion,
                                                       us: "this worker") {
                throw ClusterError(.refused, mismatch)
            }
            let id = registration.workerID
            logger.info("registered with the dispatcher at \(options.dispatcher) as worker #\(id), \(counted(options.threads, "thread"))")
            do {
                try await session(client, uploadClient, registration)
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("worker #\(id): lost the dispatcher at \(options.dispatcher) (\(describe(error))); registering again")
            }
        }
    }

    private struct Lost: Error, CustomStringConvertible {
        let description: String
    }

    /// Heartbeats and job loops until the dispatcher is lost.
    private func session(_ client: DispatcherClient, _ uploadClient: DispatcherClient,
                         _ registration: Latent_Cluster_V1_RegisterReply) async throws {
        let interval = Duration.milliseconds(max(50, Int(registration.heartbeatIntervalMs)))
        let stages = StageCache(registry: registry, logger: logger)
        let corpora = SharedCorpora()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var failingSince: ContinuousClock.Instant?
                while true {
                    do {
                        let reply = try await client.heartbeat(
                            .with {
                                $0.workerID = registration.workerID; $0.dispatcherEpoch = registration.dispatcherEpoch
                            },
                            options: Transport.callOptions(timeout: interval * 4))
                        guard reply.known else { throw Lost(description: "the dispatcher no longer knows this worker") }
                        failingSince = nil
                    } catch let error as Lost {
                        throw error
                    } catch {
                        let since = failingSince ?? .now
                        failingSince = since
                        if ContinuousClock.now - since > .seconds(2) { throw Lost(description: describe(error)) }
                    }
                    try await Task.sleep(for: interval)
                }
            }
            for _ in 0..<options.threads {
                group.addTask {
                    try await jobLoop(client, uploadClient, registration, stages: stages, corpora: corpora)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private struct ReceivedJob: Sendable {
        var header: Latent_Cluster_V1_JobHeader
        var payload: [UInt8]
        /// The job's chunks, read (shared storage) or decoded as soon as the job came, while
        /// the job before ran; a failure is the job's, reported when it runs. Their term ids
        /// are checked against the stage's computation then.
        var chunks: Result<[SparseChunk], any Error>
    }

    /// The chunks of a job: from the shared file, or decoded from its payload.
    private static func chunks(of header: Latent_Cluster_V1_JobHeader, payload: [UInt8],
                               corpora: SharedCorpora) async -> Result<[SparseChunk], any Error> {
        do {
            guard header.level <= UInt32(DispatcherCore.maximumLevel) else {
                throw ClusterError(.protocolViolation, "job #\(header.jobID): a block of 2^\(header.level) chunks, at most 2^\(DispatcherCore.maximumLevel)")
            }
            let level = Int(header.level)
            let shared = header.sharedPath.isEmpty ? nil : try await corpora.open(header.sharedPath)
            return .success(try await onThread {
                guard let shared else {
                    // Term ids up to Int32's, checked against the computation's when the job runs.
                    return try ChunkBlock.decode(payload, level: level, termBound: Int(Int32.max), firstChunk: Int(header.chunkIndex))
                }
                return try ChunkBlock.ranges(firstDocument: Int(header.firstDocument), documents: Int(header.documents),
                                             leafDocuments: Int(header.leafDocuments), chunks: 1 << level)
                    .map { try shared.chunk(documents: $0) }
            })
        } catch {
            return .failure(error)
        }
    }

    private func jobLoop(_ client: DispatcherClient, _ uploadClient: DispatcherClient,
                         _ registration: Latent_Cluster_V1_RegisterReply,
                         stages: StageCache, corpora: SharedCorpora) async throws {
        let worker = registration.workerID
        let take: @Sendable () async throws -> ReceivedJob? = {
            let received = try await client.takeJob(
                .with { $0.workerID = worker; $0.dispatcherEpoch = registration.dispatcherEpoch },
                // The dispatcher answers within a second (its long poll); the timeout only
                // ends a call that hangs, and is short because its timer lives that long.
                options: Transport.callOptions(timeout: .seconds(10))
            ) { response in
                let (header, payload) = try await receivePayload(response.messages, what: "job")
                guard case .job(let job)? = header.about else { throw Lost(description: "a job stream without a job header") }
                return job.jobID == 0 ? nil : (job, payload)
            }
            guard let (header, payload) = received else { return nil }
            return ReceivedJob(header: header, payload: payload, chunks: await Self.chunks(of: header, payload: payload, corpora: corpora))
        }
        var upload: Task<Void, any Error>?
        // The next job is asked for while this one runs, so that a job's round trip to the
        // dispatcher does not leave the core idle between jobs (a lease held ahead is one
        // job at most per loop; a dropped worker's leases are requeued as any others).
        var next: Task<ReceivedJob?, any Error>?
        defer {
            upload?.cancel()
            next?.cancel()
        }
        while true {
            try Task.checkCancellation()
            let received: ReceivedJob?
            if let next { received = try await next.value } else { received = try await take() }
            next = Task { try await take() }
            guard let job = received else { continue }
            let header = job.header
            let started = ContinuousClock.now
            logger.debug("job #\(header.jobID): received (\(job.payload.count) bytes)")
            var result: [UInt8] = []
            var failure: String?
            do {
                let computation = try await stages.computation(
                    run: header.runID, stage: header.stage, kind: header.computation, size: header.stageParametersSize,
                    included: header.parametersIncluded ? [UInt8](header.stageParameters) : nil, client: client, worker: worker)
                let delay = jobDelay
                let chunks = try job.chunks.get()
                result = try await onThread {
                    if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                    let index = Int(header.chunkIndex)
                    for (offset, chunk) in chunks.enumerated() where chunk.termBound > computation.termBound {
                        let source = header.sharedPath.isEmpty ? "chunk \(index + offset) holds" : "\(header.sharedPath): documents \(chunk.firstDocument)+ hold"
                        throw ClusterError(.invalidConfiguration, "\(source) term ids up to \(chunk.termBound - 1), beyond the model's \(computation.termBound) terms")
                    }
                    // A block of one chunk is that chunk's job (an empty one is refused).
                    if chunks.count == 1 { return try computation.processEncoded(chunks[0], index: index) }
                    return try computation.processEncoded(block: chunks, index: index)
                }
                if computation.takesChanges {
                    await stages.keep(OwnState(job: header.jobID, chunkIndex: Int(header.chunkIndex), level: Int(header.level),
                                               bytes: result), run: header.runID, stage: header.stage)
                    await stages.prefetch(run: header.runID, stage: header.stage + 1, kind: header.computation,
                                          client: client, worker: worker)
                }
            } catch let error as RPCError {
                throw error
            } catch {
                let message = "job #\(header.jobID) failed on worker #\(worker): \(error)"
                failure = message
                logger.error("\(message)")
            }
            logger.debug("job #\(header.jobID): computed after \(roundedSeconds(ContinuousClock.now - started)) s; sending \(result.count) bytes")
            let payload = result, failed = failure ?? "", computed = ContinuousClock.now
            // The state goes back while the next job runs (one upload at a time): sending a
            // large state takes seconds that would otherwise leave the core idle.
            try await upload?.value
            upload = Task { [logger] in
                let accepted = try await Transport.upload({
                    try await uploadClient.returnResult(options: Transport.callOptions(), requestProducer: $0, onResponse: $1)
                }) { writer in
                    try await sendPayload(payload, header: .with {
                        $0.result = .with {
                            $0.workerID = worker; $0.runID = header.runID; $0.stage = header.stage; $0.jobID = header.jobID
                            $0.error = failed; $0.dispatcherEpoch = registration.dispatcherEpoch
                        }
                    }, to: writer)
                }.accepted
                if failed.isEmpty {
                    let seconds = roundedSeconds(computed - started)
                    let sent = roundedSeconds(ContinuousClock.now - computed)
                    logger.info("job #\(header.jobID): \(chunkSpan(Int(header.chunkIndex), count: 1 << Int(header.level))) (\(header.documents) documents) in \(seconds) s, state sent in \(sent) s\(accepted ? "" : "; not needed any more")")
                }
            }
        }
    }
}

/// The corpus files of shared-storage jobs, opened once each.
private actor SharedCorpora {
    private var open: [String: any RangeReadableCorpus] = [:]

    func open(_ path: String) async throws -> any RangeReadableCorpus {
        if let corpus = open[path] { return corpus }
        let corpus = try await onThread { try CorpusFile.openRangeReadable(path) }
        if open.count >= 4 { open.removeAll() }
        open[path] = corpus
        return corpus
    }
}

/// The computations of the stages this worker has seen, fetched once per stage; only the
/// latest two are kept (a stage's parameters can be a large basis). A stage whose parameters
/// are a change of the one before is rebuilt from that one when it is held.
private actor StageCache {
    private let registry: ComputationRegistry
    private let logger: Logger
    private var entries: [(run: UInt64, stage: UInt64, computation: any RemoteComputation)] = []
    /// The states this worker computed for the latest two stages (of computations that take
    /// changes): the next stage's change may end with their merge (bundle form 2).
    private var own: [(run: UInt64, stage: UInt64, states: [OwnState])] = []

    /// Keeps a state this worker computed for stage `stage`.
    func keep(_ state: OwnState, run: UInt64, stage: UInt64) {
        if let index = own.firstIndex(where: { $0.run == run && $0.stage == stage }) {
            own[index].states.append(state)
        } else {
            own.append((run, stage, [state]))
            own.sort { ($0.run, $0.stage) < ($1.run, $1.stage) }
            if own.count > 2 { own.removeFirst(own.count - 2) }
        }
    }

    init(registry: ComputationRegistry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    /// Stages being fetched: the job loops that need one wait for the same fetch (rebuilding a
    /// stage from a change can mean replaying a model update).
    private var fetching: [StageID: Task<any RemoteComputation, any Error>] = [:]

    private struct StageID: Hashable {
        let run: UInt64
        let stage: UInt64
    }

    /// A fetch asked ahead found the stage's parameters not to be had yet.
    private struct NotReady: Error {}

    /// The stage's computation: from the cache, from the parameters that came with the job
    /// (`included`), or from the dispatcher (joining a fetch asked ahead, when there is one
    /// that succeeds).
    func computation(run: UInt64, stage: UInt64, kind: String, size: UInt64, included: [UInt8]?, client: DispatcherClient,
                     worker: UInt64) async throws -> any RemoteComputation {
        let key = StageID(run: run, stage: stage)
        while true {
            if let entry = entries.first(where: { $0.run == run && $0.stage == stage }) { return entry.computation }
            guard let task = fetching[key] else { break }
            do {
                return try await task.value
            } catch is NotReady {
                if fetching[key] == task { fetching[key] = nil }
            }
        }
        let task = fetch(key, kind: kind, size: size, included: included, client: client, worker: worker, waiting: true)
        return try await finish(task, key)
    }

    /// Asks ahead for stage `stage`'s computation, once this worker has computed a job of the
    /// stage before: when every job of that stage is this worker's (its states in or being
    /// sent), the dispatcher answers at once with the change's beginning and the stage is
    /// rebuilt while the last state is still on its way and the next job is not yet leased.
    /// Otherwise the dispatcher answers that it cannot yet, and the stage is fetched as usual
    /// when a job of it comes.
    func prefetch(run: UInt64, stage: UInt64, kind: String, client: DispatcherClient, worker: UInt64) {
        let key = StageID(run: run, stage: stage)
        guard fetching[key] == nil, !entries.contains(where: { $0.run == run && $0.stage >= stage }),
              entries.contains(where: { $0.run == run && $0.stage + 1 == stage }),
              own.contains(where: { $0.run == run && $0.stage + 1 == stage }) else { return }
        let task = fetch(key, kind: kind, size: 0, included: nil, client: client, worker: worker, waiting: false)
        Task { _ = try? await self.finish(task, key) }
    }

    /// Starts fetching and rebuilding a stage's computation, as the job loops' shared fetch of it.
    private func fetch(_ key: StageID, kind: String, size: UInt64, included: [UInt8]?, client: DispatcherClient,
                       worker: UInt64, waiting: Bool) -> Task<any RemoteComputation, any Error> {
        let (run, stage) = (key.run, key.stage)
        let registry = self.registry
        let held = entries.filter { $0.run == run && $0.stage < stage }.max { $0.stage < $1.stage }
        let heldStage = held.map { (stage: $0.stage, computation: $0.computation) }
        // The states of the stage before, when this worker holds that stage's computation.
        let ownStates = held.flatMap { held in
            held.stage + 1 == stage ? own.first { $0.run == run && $0.stage == held.stage }?.states : nil
        } ?? []
        let logger = self.logger
        let task = Task<any RemoteComputation, any Error> {
            if let included {
                guard included.count == size else {
                    throw RPCError(code: .dataLoss, message: "stage \(stage): parameters of \(included.count) bytes, the job said \(size)")
                }
                return try await onThread { try registry.make(kind: kind, parameters: included) }
            }
            // No timeout: a lost dispatcher ends it (the connection's keepalive pings close a
            // silent connection and fail its calls), and a timeout would hold a timer at both
            // ends for its whole length (`Transport.callOptions`).
            let asked = ContinuousClock.now
            let bundle = try await client.fetchStage(
                .with {
                    $0.workerID = worker; $0.runID = run; $0.stage = stage; $0.heldStage = heldStage?.stage ?? 0
                    $0.ownJobs = ownStates.map(\.job)
                    $0.withoutWaiting = !waiting
                },
                options: Transport.callOptions()
            ) { response in
                try await receivePayload(response.messages, what: "parameters of stage \(stage)").1
            }
            if bundle.isEmpty && !waiting { throw NotReady() }
            let fetched = ContinuousClock.now
            let computation = try await onThread {
                try StageBundle.rebuild(stage: stage, kind: kind, from: bundle, held: heldStage, own: ownStates, registry: registry)
            }
            logger.debug("stage \(stage): parameters fetched\(waiting ? "" : " ahead") (\(bundle.count) bytes) in \(milliseconds(fetched - asked)) ms, rebuilt in \(milliseconds(ContinuousClock.now - fetched)) ms")
            return computation
        }
        fetching[key] = task
        return task
    }

    /// Waits for a fetch and keeps its computation (the latest two stages).
    private func finish(_ task: Task<any RemoteComputation, any Error>, _ key: StageID) async throws -> any RemoteComputation {
        defer { if fetching[key] == task { fetching[key] = nil } }
        let computation = try await task.value
        if !entries.contains(where: { $0.run == key.run && $0.stage == key.stage }) {
            entries.append((key.run, key.stage, computation))
            entries.sort { ($0.run, $0.stage) < ($1.run, $1.stage) }
            if entries.count > 2 { entries.removeFirst() }
        }
        return computation
    }
}

/// A state a worker computed and sent: its job, the job's first chunk and level, the bytes.
struct OwnState: Sendable {
    let job: UInt64
    let chunkIndex: Int
    let level: Int
    let bytes: [UInt8]
}

/// What a worker makes of a FetchStage reply.
enum StageBundle {
    /// Stage `stage`'s computation from a FetchStage bundle (see latent.proto): whole
    /// parameters, or changes applied in order to the `held` computation or the bundle's first;
    /// a change's beginning (form 2) is completed with the merge of `own`, the worker's states
    /// of every job of the stage before.
    static func rebuild(stage: UInt64, kind: String, from bundle: [UInt8], held: (stage: UInt64, computation: any RemoteComputation)?,
                        own: [OwnState] = [], registry: ComputationRegistry) throws -> any RemoteComputation {
        var reader = PortableReader(bundle, payload: "parameters of stage \(stage)")
        let count = try reader.readInt("stages", in: 1...Int(Int32.max))
        var current = held
        for _ in 0..<count {
            let form = try reader.readInt("form", in: 0...2)
            let number = UInt64(try reader.readInt("stage", in: 1...Int(Int64.max / 2)))
            var parameters: [UInt8] = try reader.readArray("parameters", maxCount: ClusterLimits.maxPayloadSize)
            if form == 2 {
                guard let previous = current, previous.stage + 1 == number, let first = own.map(\.chunkIndex).min() else {
                    throw reader.error("form", "a change's beginning only for the stage after one held whose states this worker sent")
                }
                parameters += try merged(own, firstChunk: first, computation: previous.computation)
            }
            if form == 0 {
                current = (number, try registry.make(kind: kind, parameters: parameters))
            } else {
                guard let previous = current, previous.stage + 1 == number else {
                    throw reader.error("stage", "a change of stage \(current?.stage ?? 0) next, got one of stage \(number)")
                }
                current = (number, try previous.computation.applying(change: parameters))
            }
        }
        try reader.finish()
        guard let current, current.stage == stage, current.computation.kind == kind else {
            throw reader.error("stages", "parameters that end with stage \(stage) of \(kind)")
        }
        return current.computation
    }

    /// The merge of `states` in the tree of a reduction from chunk `firstChunk`, encoded: the
    /// bytes the dispatcher makes of the same states.
    static func merged(_ states: [OwnState], firstChunk: Int, computation: any RemoteComputation) throws -> [UInt8] {
        let merger = computation.makeMerger(firstChunk: firstChunk)
        for state in states {
            try merger.receive(state.bytes, chunk: state.chunkIndex)
            try merger.place(chunk: state.chunkIndex, level: state.level)
        }
        guard let bytes = try merger.finish() else {
            throw ClusterError(.protocolViolation, "no state to merge for a change's end")
        }
        return bytes
    }
}
