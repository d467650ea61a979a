import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatentCorpus
import LatentModels
import Logging

/// Where training runs: gensim's `distributed` flag, with a third choice.
public enum Execution: String, Sendable, CaseIterable {
    /// The cluster when a dispatcher answers (within 1 s) with at least one worker, else
    /// in-process; the log says which was chosen.
    case automatic
    /// In-process on this machine's cores; never contacts a cluster.
    case serial
    /// The cluster, required: fails with a clear error when no dispatcher with workers answers.
    case distributed
}

/// The executor of the cluster, seen from the client: the model's jobs go to the
/// dispatcher's workers, and partial states come back merged. With `.automatic` or
/// `.serial` it may run in-process instead (`local`). Model code is the same either way.
public struct ClusterExecutor: ChunkExecutor {
    public var execution: Execution
    public var dispatcher: ClusterAddress
    public var security: ClusterSecurity
    /// Runs the jobs when the cluster is not used.
    public var local: InProcessExecutor
    /// How the dispatcher's logs name this client.
    public var clientName: String
    public var logger: Logger
    /// Shared-storage mode: when every worker can read the corpus file at the same path
    /// (the binary format, or Matrix Market with its index), jobs carry the path and a
    /// range of documents instead of the documents.
    public var sharedStorage: Bool
    /// Where the last session ran, for reports: "cluster at HOST:PORT, N workers" or the
    /// in-process executor's description; nil before any.
    public var lastChoice: String? { choice.value }
    private let choice = ChoiceRecord()

    public init(execution: Execution = .automatic, dispatcher: ClusterAddress = .defaultDispatcher,
                security: ClusterSecurity = ClusterSecurity(), local: InProcessExecutor = InProcessExecutor(),
                clientName: String = "\(ProcessInfo.processInfo.hostName) pid \(ProcessInfo.processInfo.processIdentifier)",
                logger: Logger = Logger(label: "latent.cluster"), sharedStorage: Bool = false) {
        self.execution = execution
        self.dispatcher = dispatcher
        self.security = security
        self.local = local
        self.clientName = clientName
        self.logger = logger
        self.sharedStorage = sharedStorage
    }

    public var description: String {
        switch execution {
        case .serial: local.description
        case .automatic: "cluster at \(dispatcher) if one answers, else \(local.description)"
        case .distributed: "cluster at \(dispatcher)"
        }
    }

    public func run<Computation: ChunkedComputation, C: Corpus>(
        _ computation: Computation, over corpus: C, chunkSize: Int,
        progress: (@Sendable (TrainingProgress) -> Void)?
    ) async throws -> Computation.PartialState? {
        try await session(.computation(computation.name)) { executor in
            try await executor.run(computation, over: corpus, chunkSize: chunkSize, progress: progress)
        }
    }

    public func session<Result: Sendable>(
        _ description: TrainingDescription, _ body: (any ChunkExecutor) async throws -> Result
    ) async throws -> Result {
        if execution == .serial {
            choice.value = local.description
            logger.info("running in-process (\(local.description))")
            return try await local.session(description, body)
        }
        return try await Transport.withDispatcher(dispatcher, security: security) { client in
            let lookup: Lookup
            do {
                let workers = try await client.status(.init(), options: Transport.callOptions(timeout: .seconds(1))).workers.count
                lookup = workers > 0 ? .ready(workers: workers) : .noWorkers
            } catch let error as RPCError where error.code == .unauthenticated {
                lookup = .refused(security.token == nil
                    ? "it requires a cluster token (give --token or set LATENT_CLUSTER_TOKEN)" : "wrong token")
            } catch {
                lookup = unreachable(error)
            }
            let address = dispatcher
            switch lookup {
            case .ready(let workers):
                choice.value = "cluster at \(address), \(counted(workers, "worker"))"
                logger.info("using distributed version with \(counted(workers, "worker")) (dispatcher \(address))")
                return try await distributed(client, description, body)
            case .noWorkers:
                let reason = "the dispatcher at \(address) has no workers"
                guard execution == .automatic else {
                    throw ClusterError(.unavailable, "distributed mode: \(reason). Start `latent worker --dispatcher \(address)`, or use --distributed auto or off")
                }
                logger.info("\(reason): running in-process (\(local.description))")
            case .refused(let why):
                let reason = "the dispatcher at \(address) refused: \(why)"
                guard execution == .automatic else { throw ClusterError(.refused, "distributed mode: \(reason)") }
                logger.warning("\(reason); running in-process (\(local.description))")
            case .misconfigured(let why):
                guard execution == .automatic else { throw ClusterError(.unavailable, "distributed mode: \(why)") }
                logger.warning("\(why); running in-process (\(local.description))")
            case .unreachable(let why):
                guard execution == .automatic else {
                    throw ClusterError(.unavailable, "distributed mode: \(why). Start `latent dispatcher` and workers, set --dispatcher or LATENT_DISPATCHER, or use --distributed auto or off")
                }
                // Nobody asked for a cluster: this is not news at the default level.
                logger.debug("\(why): running in-process (\(local.description))")
            }
            choice.value = local.description
            return try await local.session(description, body)
        }
    }

    /// What the status call before a session found.
    private enum Lookup {
        case ready(workers: Int)
        case noWorkers
        case refused(String)
        /// Something listens but the call failed: most likely TLS on one side only, or the
        /// wrong CA certificate.
        case misconfigured(String)
        case unreachable(why: String)
    }

    /// Why a dispatcher could not be reached, telling a TLS mismatch from a missing dispatcher.
    private func unreachable(_ error: any Error) -> Lookup {
        let detail = describe(error)
        let lowered = detail.lowercased()
        if security.trustRootsPath != nil,
           ["tls", "ssl", "handshake", "certificate"].contains(where: lowered.contains) {
            return .misconfigured("the TLS connection to the dispatcher at \(dispatcher) failed (\(detail))")
        }
        if Transport.acceptsConnections(dispatcher) {
            let hint = security.trustRootsPath == nil
                ? "if it is a TLS dispatcher, give its CA certificate with --tls-ca"
                : "check that it is a TLS dispatcher and that --tls-ca names its CA certificate"
            return .misconfigured("a server listens at \(dispatcher) but did not answer as a dispatcher within 1 s (\(detail)); \(hint)")
        }
        return .unreachable(why: "no dispatcher answered at \(dispatcher) within 1 s (\(detail))")
    }

    private func distributed<Result: Sendable>(
        _ client: DispatcherClient, _ description: TrainingDescription,
        _ body: (any ChunkExecutor) async throws -> Result
    ) async throws -> Result {
        let run = ClientRun(dispatcher: dispatcher, logger: logger)
        let request = Latent_Cluster_V1_OpenRunRequest.with {
            $0.client = clientName
            switch description {
            case .lsi(let p, let termCount):
                $0.lsi = .with {
                    $0.topics = UInt32(p.topics); $0.chunkSize = UInt32(clamping: p.chunkSize); $0.decay = p.decay
                    $0.powerIterations = UInt32(p.powerIterations); $0.oversampling = UInt32(p.oversampling)
                    $0.algorithm = p.algorithm.rawValue; $0.precision = p.precision.rawValue; $0.seed = p.seed
                    $0.termCount = UInt64(termCount)
                }
            case .computation(let name):
                $0.computation = name
            }
        }
        let address = dispatcher
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await client.openRun(request, options: Transport.callOptions()) { response in
                        for try await event in response.messages { run.receive(event) }
                    }
                    run.fail(ClusterError(.unavailable, "the dispatcher at \(address) ended the run"))
                } catch {
                    run.fail(ClientRun.mapped(error, address: address))
                }
            }
            do {
                let id = try await run.opened()
                let result = try await body(RunExecutor(client: client, run: run, runID: id, logger: logger,
                                                        sharedStorage: sharedStorage))
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                // An RPC's own error may be less telling than the run's (a lost dispatcher).
                throw run.failure ?? ClientRun.mapped(error, address: address)
            }
        }
    }
}

/// What `ClusterExecutor.lastChoice` reads.
private final class ChoiceRecord: @unchecked Sendable {
    // `stored` is guarded by `lock`.
    private let lock = NSLock()
    private var stored: String?
    var value: String? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// The executor handed to the model during a distributed run: each `run` is one pass.
struct RunExecutor: ChunkExecutor {
    let client: DispatcherClient
    let run: ClientRun
    let runID: UInt64
    let logger: Logger
    let sharedStorage: Bool

    var description: String { "cluster at \(run.dispatcher), run #\(runID)" }

    func session<Result: Sendable>(
        _ description: TrainingDescription, _ body: (any ChunkExecutor) async throws -> Result
    ) async throws -> Result {
        try await body(self)
    }

    func run<Computation: ChunkedComputation, C: Corpus>(
        _ computation: Computation, over corpus: C, chunkSize: Int,
        progress: (@Sendable (TrainingProgress) -> Void)?
    ) async throws -> Computation.PartialState? {
        guard let portable = computation as? any PortableComputation else {
            throw ClusterError(.invalidConfiguration, "\(computation.name) cannot run on a cluster (it has no portable encoding)")
        }
        let state = try await pass(portable, corpus, chunkSize: chunkSize, progress: progress)
        guard let state else { return nil }
        guard let typed = state as? Computation.PartialState else {
            throw ClusterError(.protocolViolation, "\(computation.name): the merged state has another type")
        }
        return typed
    }

    private func pass<P: PortableComputation, C: Corpus>(
        _ computation: P, _ corpus: C, chunkSize: Int, progress: (@Sendable (TrainingProgress) -> Void)?
    ) async throws -> P.PartialState? {
        let stage = run.nextStage(total: corpus.documentCount, progress: progress)
        let parameters = computation.parameterBytes()
        _ = try await client.startStage(options: Transport.callOptions(timeout: .seconds(600))) { writer in
            try await sendPayload(parameters, header: .with {
                $0.stage = .with { $0.runID = runID; $0.stage = stage; $0.computation = P.kind }
            }, to: writer)
        }
        let chunkSize = max(1, chunkSize)
        var chunks = 0
        func submit(index: Int, first: Int, documents: Int, payload: [UInt8], sharedPath: String) async throws {
            _ = try await client.submitChunk(options: Transport.callOptions()) { writer in
                try await sendPayload(payload, header: .with {
                    $0.chunk = .with {
                        $0.runID = runID; $0.stage = stage; $0.chunkIndex = UInt64(index)
                        $0.firstDocument = UInt64(first); $0.documents = UInt64(documents); $0.sharedPath = sharedPath
                    }
                }, to: writer)
            }
            chunks += 1
            logger.info("dispatched documents up to #\(first + documents)\(sharedPath.isEmpty ? "" : " (read by the workers from \(sharedPath))")")
            if let failure = run.failure { throw failure }
        }
        if let shared = sharedFile(of: corpus) {
            for first in stride(from: 0, to: shared.documents, by: chunkSize) {
                try await submit(index: first / chunkSize, first: first, documents: min(chunkSize, shared.documents - first),
                                 payload: [], sharedPath: shared.path)
            }
        } else {
            let prefetcher = ChunkPrefetcher(corpus, chunkSize: chunkSize, depth: 2)
            defer { prefetcher.cancel() }
            while let chunk = try await onThread({ try prefetcher.next() }) {
                try await submit(index: chunk.firstDocument / chunkSize, first: chunk.firstDocument,
                                 documents: chunk.documentCount, payload: chunk.portableBytes(), sharedPath: "")
            }
        }
        _ = try await client.endStage(.with { $0.runID = runID; $0.stage = stage; $0.chunks = UInt64(chunks) },
                                      options: Transport.callOptions(timeout: .seconds(60)))
        let size = try await run.completion(of: stage)
        guard size > 0 else { return nil }
        let bytes = try await client.fetchResult(.with { $0.runID = runID; $0.stage = stage },
                                                 options: Transport.callOptions()) { response in
            let (header, bytes) = try await receivePayload(response.messages, what: "result of pass \(stage)")
            guard header.size == size else {
                throw ClusterError(.protocolViolation, "pass \(stage): a result of \(header.size) bytes, \(size) announced")
            }
            return bytes
        }
        return try await onThread { try computation.state(fromBytes: bytes) }
    }
}

extension RunExecutor {
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

/// What the client knows of its run, fed by the dispatcher's stream of events.
final class ClientRun: @unchecked Sendable {
    let dispatcher: ClusterAddress
    let logger: Logger
    // Everything below is guarded by `lock`.
    private let lock = NSLock()
    private var runID: UInt64?
    private var failed: (any Error)?
    private var openWaiters: [CheckedContinuation<UInt64, any Error>] = []
    private var stages: [UInt32: StageProgress] = [:]
    private var lastStage: UInt32 = 0

    private struct StageProgress {
        var progress: TrainingProgress
        var report: (@Sendable (TrainingProgress) -> Void)?
        var completedSize: UInt64?
        var waiter: CheckedContinuation<UInt64, any Error>?
    }

    init(dispatcher: ClusterAddress, logger: Logger) {
        self.dispatcher = dispatcher
        self.logger = logger
    }

    var failure: (any Error)? { lock.withLock { failed } }

    func opened() async throws -> UInt64 {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<UInt64, any Error>? = lock.withLock {
                if let failed { return .failure(failed) }
                if let runID { return .success(runID) }
                openWaiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    func nextStage(total: Int?, progress: (@Sendable (TrainingProgress) -> Void)?) -> UInt32 {
        lock.withLock {
            lastStage += 1
            stages[lastStage] = StageProgress(
                progress: TrainingProgress(documentsDone: 0, documentsTotal: total, chunksDone: 0, pass: 1, passes: 1),
                report: progress)
            return lastStage
        }
    }

    /// Waits for the dispatcher to report the pass complete; returns its result's size.
    func completion(of stage: UInt32) async throws -> UInt64 {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<UInt64, any Error>? = lock.withLock {
                if let failed { return .failure(failed) }
                if let size = stages[stage]?.completedSize { return .success(size) }
                stages[stage]?.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    func receive(_ event: Latent_Cluster_V1_RunEvent) {
        switch event.event {
        case .opened(let opened)?:
            let waiters = lock.withLock {
                runID = opened.runID
                defer { openWaiters = [] }
                return openWaiters
            }
            logger.info("run #\(opened.runID) opened at the dispatcher \(dispatcher)")
            for waiter in waiters { waiter.resume(returning: opened.runID) }
        case .finished(let job)?:
            let update: (TrainingProgress, (@Sendable (TrainingProgress) -> Void)?)? = lock.withLock {
                guard var stage = stages[job.stage] else { return nil }
                stage.progress.documentsDone += Int(job.documents)
                stage.progress.chunksDone += 1
                stages[job.stage] = stage
                return (stage.progress, stage.report)
            }
            if let (progress, report) = update { report?(progress) }
        case .complete(let complete)?:
            let waiter = lock.withLock {
                stages[complete.stage]?.completedSize = complete.size
                defer { stages[complete.stage]?.waiter = nil }
                return stages[complete.stage]?.waiter
            }
            waiter?.resume(returning: complete.size)
        case .requeued(let requeued)?:
            logger.warning("worker #\(requeued.workerID) was dropped (\(requeued.reason)); its jobs \(requeued.jobIds.map { "#\($0)" }.joined(separator: ", ")) were requeued")
        case .failed(let failed)?:
            fail(ClusterError(.runFailed, "the distributed run failed: \(failed.message)"))
        case nil:
            break
        }
    }

    func fail(_ error: any Error) {
        let waiters: [CheckedContinuation<UInt64, any Error>] = lock.withLock {
            guard failed == nil else { return [] }
            failed = error
            var all = openWaiters
            openWaiters = []
            for key in stages.keys {
                if let waiter = stages[key]?.waiter { all.append(waiter) }
                stages[key]?.waiter = nil
            }
            return all
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    /// An RPC failure as the user should read it.
    static func mapped(_ error: any Error, address: ClusterAddress) -> any Error {
        guard let rpc = error as? RPCError else { return error }
        switch rpc.code {
        case .unavailable, .cancelled, .deadlineExceeded, .unknown, .internalError:
            return ClusterError(.unavailable, "lost the dispatcher at \(address): \(rpc.code): \(rpc.message)")
        case .unauthenticated, .resourceExhausted, .permissionDenied:
            return ClusterError(.refused, "the dispatcher at \(address) refused the run: \(rpc.message)")
        default:
            return ClusterError(.protocolViolation, "the dispatcher at \(address): \(rpc.code): \(rpc.message)")
        }
    }
}
