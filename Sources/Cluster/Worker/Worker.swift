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
    let logger: Logger
    /// Fault injection for the cluster's tests: each job waits this long before it runs
    /// (`LATENT_TEST_JOB_DELAY_MS`), so a test can kill a worker while it holds a lease.
    let jobDelay: Duration

    public init(options: Options, logger: Logger) throws {
        guard options.threads >= 1, options.threads <= 4096 else {
            throw ClusterError(.invalidConfiguration, "--threads: expected 1 to 4096, got \(options.threads)")
        }
        try options.security.check()
        self.options = options
        self.logger = logger
        let delay = ProcessInfo.processInfo.environment["LATENT_TEST_JOB_DELAY_MS"].flatMap { Int($0) } ?? 0
        jobDelay = .milliseconds(max(0, delay))
    }

    /// Works until the task is cancelled.
    public func run() async throws {
        BLAS.threads = 1
        let transport = try Transport.client(options.dispatcher, security: options.security)
        let interceptors: [any ClientInterceptor] = options.security.token.map { [TokenSender(token: $0)] } ?? []
        try await withGRPCClient(transport: transport, interceptors: interceptors) { grpc in
            let client = DispatcherClient(wrapping: grpc)
            var waitingSaid = false
            while !Task.isCancelled {
                let registration: Latent_Cluster_V1_RegisterReply
                do {
                    registration = try await client.register(
                        .with { $0.name = options.name; $0.threads = UInt32(options.threads) },
                        options: Transport.callOptions(timeout: .seconds(2)))
                } catch let error as RPCError where error.code == .unauthenticated {
                    throw ClusterError(.refused, "the dispatcher at \(options.dispatcher) refused this worker: \(error.message)")
                } catch {
                    if !waitingSaid {
                        logger.info("waiting for the dispatcher at \(options.dispatcher) (\(Self.reason(error)))")
                        waitingSaid = true
                    }
                    try await Task.sleep(for: .milliseconds(200))
                    continue
                }
                waitingSaid = false
                let id = registration.workerID
                logger.info("registered with the dispatcher at \(options.dispatcher) as worker #\(id), \(options.threads) thread\(options.threads == 1 ? "" : "s")")
                do {
                    try await session(client, registration)
                } catch is CancellationError {
                    return
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("worker #\(id): lost the dispatcher at \(options.dispatcher) (\(Self.reason(error))); registering again")
                }
            }
        }
    }

    private struct Lost: Error, CustomStringConvertible {
        let description: String
    }

    /// Heartbeats and job loops until the dispatcher is lost.
    private func session(_ client: DispatcherClient, _ registration: Latent_Cluster_V1_RegisterReply) async throws {
        let interval = Duration.milliseconds(max(50, Int(registration.heartbeatIntervalMs)))
        let stages = StageCache()
        let running = RunningJobs()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var failingSince: ContinuousClock.Instant?
                while true {
                    do {
                        let reply = try await client.heartbeat(
                            .with {
                                $0.workerID = registration.workerID; $0.dispatcherEpoch = registration.dispatcherEpoch
                                $0.jobsRunning = UInt32(running.count)
                            },
                            options: Transport.callOptions(timeout: interval * 4))
                        guard reply.known else { throw Lost(description: "the dispatcher no longer knows this worker") }
                        failingSince = nil
                    } catch let error as Lost {
                        throw error
                    } catch {
                        let since = failingSince ?? .now
                        failingSince = since
                        if ContinuousClock.now - since > .seconds(2) { throw Lost(description: Self.reason(error)) }
                    }
                    try await Task.sleep(for: interval)
                }
            }
            for _ in 0..<options.threads {
                group.addTask { try await jobLoop(client, registration, stages: stages, running: running) }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private struct ReceivedJob: Sendable {
        var header: Latent_Cluster_V1_JobHeader
        var payload: [UInt8]
    }

    private func jobLoop(_ client: DispatcherClient, _ registration: Latent_Cluster_V1_RegisterReply,
                         stages: StageCache, running: RunningJobs) async throws {
        let worker = registration.workerID
        while true {
            try Task.checkCancellation()
            let received: ReceivedJob? = try await client.takeJob(
                .with { $0.workerID = worker; $0.dispatcherEpoch = registration.dispatcherEpoch },
                options: Transport.callOptions(timeout: .seconds(30))
            ) { response in
                var header: Latent_Cluster_V1_JobHeader?
                var assembler: PayloadAssembler?
                for try await part in response.messages {
                    switch part.part {
                    case .header(let value)?:
                        guard header == nil else { throw Lost(description: "a job with two headers") }
                        header = value
                        if value.jobID == 0 { return nil }
                        assembler = try PayloadAssembler(declared: value.size, what: "job #\(value.jobID)")
                    case .block(let block)?:
                        guard assembler != nil else { throw Lost(description: "a job block before its header") }
                        try assembler?.append(block)
                    case nil:
                        throw Lost(description: "an empty job message")
                    }
                }
                guard let header, let assembler else { return nil }
                return ReceivedJob(header: header, payload: try assembler.finish())
            }
            guard let job = received else { continue }
            running.add(1)
            defer { running.add(-1) }
            let header = job.header
            let started = ContinuousClock.now
            var result: [UInt8] = []
            var failure: String?
            do {
                let computation = try await stages.computation(run: header.runID, stage: header.stage, kind: header.computation,
                                                               size: header.stageParametersSize, client: client, worker: worker)
                let delay = jobDelay
                result = try await onThread {
                    if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) * 1e-18 + Double(delay.components.seconds)) }
                    let chunk = try SparseChunk(portableBytes: job.payload, termBound: computation.termBound,
                                                payload: "chunk \(header.chunkIndex)")
                    return computation.encode(try computation.process(chunk, index: Int(header.chunkIndex)))
                }
            } catch let error as RPCError {
                throw error
            } catch {
                failure = "job #\(header.jobID) failed on worker #\(worker): \(error)"
                logger.error("\(failure ?? "")")
            }
            let payload = result, failed = failure ?? ""
            let accepted = try await client.returnResult(options: Transport.callOptions()) { writer in
                try await writer.write(.with {
                    $0.header = .with {
                        $0.workerID = worker; $0.runID = header.runID; $0.stage = header.stage; $0.jobID = header.jobID
                        $0.size = UInt64(payload.count); $0.error = failed
                    }
                })
                for block in blocks(of: payload) { try await writer.write(.with { $0.block = Data(block) }) }
            }.accepted
            let seconds = DispatcherState.seconds(ContinuousClock.now - started)
            if failure == nil {
                logger.info("job #\(header.jobID): chunk \(header.chunkIndex) (\(header.documents) documents) in \(seconds) s\(accepted ? "" : "; not needed any more")")
            }
        }
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? RPCError { return "\(error.code): \(error.message)" }
        return "\(error)"
    }
}

/// Jobs running now, for heartbeats.
private final class RunningJobs: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    var count: Int { lock.withLock { value } }
    func add(_ delta: Int) { lock.withLock { value += delta } }
}

/// The computations of the stages this worker has seen, fetched once per stage; only the
/// latest two are kept (a stage's parameters can be a large basis).
private actor StageCache {
    private var entries: [(key: String, computation: any RemoteComputation)] = []

    func computation(run: UInt64, stage: UInt32, kind: String, size: UInt64, client: DispatcherClient,
                     worker: UInt64) async throws -> any RemoteComputation {
        let key = "\(run)/\(stage)"
        if let entry = entries.first(where: { $0.key == key }) { return entry.computation }
        let parameters = try await client.fetchStage(
            .with { $0.workerID = worker; $0.runID = run; $0.stage = stage },
            options: Transport.callOptions(timeout: .seconds(600))
        ) { response in
            var assembler: PayloadAssembler?
            for try await part in response.messages {
                switch part.part {
                case .header(let header)?:
                    guard assembler == nil, header.size == size else {
                        throw RPCError(code: .dataLoss, message: "pass \(stage): parameters of \(header.size) bytes, the job said \(size)")
                    }
                    assembler = try PayloadAssembler(declared: header.size, what: "parameters of pass \(stage)")
                case .block(let block)?:
                    try assembler?.append(block)
                case nil:
                    break
                }
            }
            guard let assembler else { throw RPCError(code: .dataLoss, message: "pass \(stage): no parameters") }
            return try assembler.finish()
        }
        if let entry = entries.first(where: { $0.key == key }) { return entry.computation }
        let computation = try await onThread { try PortableComputations.make(kind: kind, parameters: parameters) }
        entries.append((key, computation))
        if entries.count > 2 { entries.removeFirst() }
        return computation
    }
}

/// Runs CPU-heavy work on a thread of its own, off Swift's cooperative pool, so heartbeats
/// and transfers go on meanwhile.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
