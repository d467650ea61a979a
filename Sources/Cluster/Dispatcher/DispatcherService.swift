import Foundation
import GRPCCore
import LatentCorpus
import LatentModels
import Logging
import Synchronization

/// The dispatcher's RPC handlers: they check each message (ids, sizes, shapes, finite
/// values) and turn anything malformed into an error status, then act on `DispatcherState`.
struct DispatcherService: Latent_Cluster_V1_Dispatcher.SimpleServiceProtocol {
    let state: DispatcherState
    let heartbeatInterval: Duration
    let logger: Logger
    /// Bytes of payloads being received, declared sizes reserved at their headers.
    let buffered = PayloadBudget(limit: PayloadBudget.defaultLimit)
    let refusals = RefusalLog()

    /// Reserves a payload's declared size, or refuses it (logged, at most once a minute).
    private func reserve(_ size: UInt64, _ what: String, _ context: ServerContext) throws {
        guard size <= buffered.perCall else {
            refusals.note(logger, "refused \(what) of \(size) bytes from \(sanitized(context.remotePeer)): over the \(buffered.perCall) bytes one call may buffer")
            throw RPCError(code: .resourceExhausted, message: "\(what): \(size) bytes are over the \(buffered.perCall) bytes one call may send the dispatcher (a quarter of its payload budget); use smaller chunks")
        }
        guard buffered.reserve(size) else {
            refusals.note(logger, "refused \(what) of \(size) bytes from \(sanitized(context.remotePeer)): payloads being received would pass \(buffered.limit) bytes")
            throw RPCError(code: .resourceExhausted, message: "\(what): \(size) bytes would pass the dispatcher's budget of \(buffered.limit) bytes for payloads being received")
        }
    }

    /// Refuses a payload at its header (logged, at most once a minute).
    private func refuse(_ message: String, _ context: ServerContext, code: RPCError.Code = .notFound) -> RPCError {
        refusals.note(logger, "refused from \(sanitized(context.remotePeer)): \(message)")
        return RPCError(code: code, message: message)
    }

    /// Refuses a peer of another cluster protocol version (`ClusterProtocol`), logged at most
    /// once a minute as "refused `what`: ...".
    private func checkVersion(_ version: UInt32, of peer: String, refusing what: String) throws {
        guard let mismatch = ClusterProtocol.mismatch(peer, speaks: version, us: "this dispatcher") else { return }
        refusals.note(logger, "refused \(what): \(mismatch)")
        throw RPCError(code: .failedPrecondition, message: mismatch)
    }

    // MARK: Workers

    func register(request: Latent_Cluster_V1_RegisterRequest, context: ServerContext) async throws -> Latent_Cluster_V1_RegisterReply {
        guard request.threads >= 1, request.threads <= 4096, request.name.utf8.count <= 256 else {
            throw RPCError(code: .invalidArgument, message: "register: expected 1 to 4096 threads and a name of at most 256 bytes")
        }
        try checkVersion(request.protocolVersion, of: "worker '\(sanitized(request.name))' (\(sanitized(context.remotePeer)))",
                         refusing: "to register")
        let id = await state.register(name: sanitized(request.name), threads: Int(request.threads), peer: sanitized(context.remotePeer))
        return .with {
            $0.workerID = id
            $0.dispatcherEpoch = state.epoch
            $0.heartbeatIntervalMs = UInt32(heartbeatInterval / .milliseconds(1))
            $0.protocolVersion = ClusterProtocol.version
        }
    }

    func heartbeat(request: Latent_Cluster_V1_HeartbeatRequest, context: ServerContext) async throws -> Latent_Cluster_V1_HeartbeatReply {
        let known = await state.heartbeat(worker: request.workerID, epoch: request.dispatcherEpoch)
        return .with { $0.known = known }
    }

    func takeJob(request: Latent_Cluster_V1_TakeJobRequest, response: RPCWriter<Latent_Cluster_V1_Part>,
                 context: ServerContext) async throws {
        let worker = request.workerID
        guard await state.isKnown(worker: worker, epoch: request.dispatcherEpoch) else {
            throw RPCError(code: .notFound, message: "unknown worker #\(worker): register first")
        }
        // Long poll: wait up to a second for a job.
        guard let lease = await state.takeJob(worker: worker, until: .now + .seconds(1)) else {
            try await sendPayload([], header: .with { $0.job = .with { $0.jobID = 0 } }, to: response)
            return
        }
        let job = lease.job
        do {
            try await sendPayload(job.payload, header: .with {
                $0.job = .with {
                    $0.jobID = job.id; $0.runID = lease.run; $0.stage = job.stage; $0.computation = lease.kind
                    $0.stageParametersSize = UInt64(lease.parametersSize); $0.chunkIndex = UInt64(job.chunkIndex)
                    $0.firstDocument = UInt64(job.firstDocument); $0.documents = UInt64(job.documents)
                    $0.sharedPath = job.sharedPath; $0.level = UInt32(job.level); $0.leafDocuments = UInt64(job.leafDocuments)
                    if let parameters = lease.parameters {
                        $0.parametersIncluded = true
                        $0.stageParameters = Data(parameters)
                    }
                }
            }, to: response)
        } catch {
            logger.debug("sending job #\(job.id) to worker #\(worker) failed: \(error)")
            await state.leaseFailed(job: job.id, worker: worker)
            throw error
        }
    }

    func fetchStage(request: Latent_Cluster_V1_FetchStageRequest, response: RPCWriter<Latent_Cluster_V1_Part>,
                    context: ServerContext) async throws {
        guard request.ownJobs.count <= 1 << 20,
              let parameters = await state.stageParameters(run: request.runID, stage: request.stage, held: request.heldStage,
                                                           worker: request.workerID, ownJobs: Set(request.ownJobs),
                                                           waiting: !request.withoutWaiting) else {
            throw RPCError(code: .notFound, message: "run #\(request.runID) has no pass \(request.stage)")
        }
        try await sendPayload(parameters, header: .init(), to: response)
    }

    func returnResult(request: RPCAsyncSequence<Latent_Cluster_V1_Part, any Error>,
                      context: ServerContext) async throws -> Latent_Cluster_V1_ResultReply {
        var reserved: UInt64 = 0
        defer { buffered.release(reserved) }
        let (payloadHeader, bytes) = try await receivePayload(request, what: "result") { header in
            try reserve(header.size, "a job's state", context)
            reserved = header.size
        }
        guard case .result(let header)? = payloadHeader.about else {
            throw RPCError(code: .invalidArgument, message: "result: the header does not describe a result")
        }
        guard await state.isKnown(worker: header.workerID, epoch: header.dispatcherEpoch) else {
            return .with { $0.accepted = false }
        }
        if !header.error.isEmpty {
            let wanted = await state.jobFailed(run: header.runID, stage: header.stage, job: header.jobID,
                                               message: sanitized(header.error, limit: 2000))
            return .with { $0.accepted = wanted }
        }
        let accepted = try await mapped {
            try await state.returnResult(worker: header.workerID, run: header.runID, stage: header.stage,
                                         job: header.jobID, bytes: bytes)
        }
        return .with { $0.accepted = accepted }
    }

    // MARK: Clients

    func openRun(request: Latent_Cluster_V1_OpenRunRequest, response: RPCWriter<Latent_Cluster_V1_RunEvent>,
                 context: ServerContext) async throws {
        guard !request.kind.isEmpty, request.kind.utf8.count <= 100, request.description_p.utf8.count <= 2000,
              request.parameters.count <= ClusterLimits.blockSize else {
            throw RPCError(code: .invalidArgument, message: "open run: expected a kind of 1 to 100 bytes, a description of at most 2000 and parameters of at most 1 MiB")
        }
        let client = request.client.isEmpty ? sanitized(context.remotePeer) : "\(sanitized(request.client)) (\(sanitized(context.remotePeer)))"
        try checkVersion(request.protocolVersion, of: "the client \(String(client.prefix(300)))", refusing: "a run")
        let state = self.state
        // A run in progress may be ending (its client's cancellation in flight): wait up to
        // 3 s for the slot, then refuse with the reason.
        let (id, events) = try await mapped {
            try await state.openRun(client: String(client.prefix(300)), owner: String(sanitized(request.client).prefix(300)),
                                    kind: sanitized(request.kind),
                                    description: sanitized(request.description_p.isEmpty ? request.kind : request.description_p, limit: 2000),
                                    replaces: request.replacesRun, until: .now + .seconds(3))
        }
        // The run lasts as long as this call: when the client finishes or goes away, gRPC
        // cancels the call and the run ends with it.
        await withRPCCancellationHandler {
            do {
                for await event in events { try await response.write(event) }
            } catch {}
        } onCancelRPC: {
            Task { await state.endRun(id) }
        }
        await state.endRun(id)
    }

    func startStage(request: RPCAsyncSequence<Latent_Cluster_V1_Part, any Error>,
                    context: ServerContext) async throws -> Latent_Cluster_V1_StageReply {
        var reserved: UInt64 = 0
        defer { buffered.release(reserved) }
        let (payloadHeader, sent) = try await receivePayload(request, what: "stage parameters") { header in
            guard case .stage(let stage)? = header.about else { return }
            guard await state.hasRun(stage.runID) else {
                throw refuse("stage parameters for run #\(stage.runID), which is not the run in progress", context)
            }
            try reserve(header.size, "stage parameters", context)
            reserved = header.size
        }
        guard case .stage(let header)? = payloadHeader.about else {
            throw RPCError(code: .invalidArgument, message: "stage: the header does not describe a stage")
        }
        guard header.firstChunk <= UInt64(Int32.max) else {
            throw RPCError(code: .invalidArgument, message: "stage: first chunk out of range")
        }
        let registry = state.registry
        // A change whose end is the stage before's merged state came without it; when that
        // stage is still running, this one starts ahead and waits for it.
        let appended = header.appendsBaseResult
            ? try await mapped { try await state.appendingResult(run: header.runID, base: header.baseStage, to: sent) } : nil
        let awaitingBase = header.appendsBaseResult && appended == nil
        let parameters = appended ?? sent
        let computation: any RemoteComputation
        if header.baseStage == 0 {
            computation = try await Self.checked {
                try registry.make(kind: header.computation, parameters: parameters)
            }
        } else {
            // A change is not read here: the workers apply it, and check it as they do.
            computation = try await mapped {
                try await state.chainBase(run: header.runID, stage: header.stage, base: header.baseStage,
                                          kind: header.computation, size: parameters.count)
            }
        }
        try await mapped {
            try await state.startStage(run: header.runID, stage: header.stage, computation: computation,
                                       parameters: parameters, baseStage: header.baseStage, firstChunk: Int(header.firstChunk),
                                       appendedResult: header.appendsBaseResult, awaitingBase: awaitingBase)
        }
        let threads = await state.workerThreads
        return .with { $0.workerThreads = UInt32(clamping: threads) }
    }

    func submitChunk(request: RPCAsyncSequence<Latent_Cluster_V1_Part, any Error>,
                     context: ServerContext) async throws -> Latent_Cluster_V1_SubmitReply {
        var reserved: UInt64 = 0
        defer { buffered.release(reserved) }
        let (payloadHeader, payload) = try await receivePayload(request, what: "chunk") { header in
            guard case .chunk(let chunk)? = header.about else { return }
            do {
                _ = try await state.computation(run: chunk.runID, stage: chunk.stage)
            } catch {
                throw refuse("a chunk for run #\(chunk.runID), stage \(chunk.stage), which is not open", context)
            }
            try reserve(header.size, "a chunk", context)
            reserved = header.size
        }
        guard case .chunk(let header)? = payloadHeader.about else {
            throw RPCError(code: .invalidArgument, message: "chunk: the header does not describe a chunk")
        }
        guard header.documents >= 1, header.documents <= 100_000_000, header.chunkIndex <= UInt64(Int32.max),
              header.firstDocument <= UInt64(Int64.max / 2), header.level <= UInt32(DispatcherCore.maximumLevel),
              header.level == 0 || (header.leafDocuments >= 1 && header.leafDocuments <= header.documents) else {
            throw RPCError(code: .invalidArgument, message: "chunk: documents, chunk index, first document, level (at most \(DispatcherCore.maximumLevel)) or documents a chunk of the block out of range")
        }
        let computation = try await mapped { try await state.computation(run: header.runID, stage: header.stage) }
        let (firstDocument, documents, leafDocuments) = (Int(header.firstDocument), Int(header.documents), Int(header.leafDocuments))
        let level = Int(header.level), context = "chunk \(header.chunkIndex): "
        if header.sharedPath.isEmpty {
            // Checked here, so a malformed chunk is refused to the client that sent it rather
            // than failing on a worker.
            let chunks = try await Self.checked {
                try ChunkBlock.decode(payload, level: level, termBound: computation.termBound, firstChunk: Int(header.chunkIndex))
            }
            try await Self.checked(context) {
                try ChunkBlock.check(chunks, firstDocument: firstDocument, documents: documents, leafDocuments: leafDocuments)
            }
        } else {
            // Shared storage: the workers read the documents; the path must name a file.
            let path = header.sharedPath
            guard payload.isEmpty, path.hasPrefix("/"), path.utf8.count <= 4096, !path.contains("\0") else {
                throw RPCError(code: .invalidArgument, message: "chunk \(header.chunkIndex): a shared-storage chunk has an absolute path of at most 4096 bytes and no bytes of its own")
            }
            _ = try await Self.checked(context) {
                try ChunkBlock.ranges(firstDocument: firstDocument, documents: documents, leafDocuments: leafDocuments, chunks: 1 << level)
            }
        }
        let job = try await mapped {
            try await state.submit(run: header.runID, stage: header.stage, chunkIndex: Int(header.chunkIndex), level: level,
                                   leafDocuments: leafDocuments, firstDocument: firstDocument,
                                   documents: documents, payload: payload, sharedPath: header.sharedPath)
        }
        // The stage's last chunk may say so, in place of an EndStage call.
        if header.endsStageWith > 0 {
            guard header.endsStageWith <= UInt64(Int32.max) else {
                throw RPCError(code: .invalidArgument, message: "chunk: the stage's chunk count is out of range")
            }
            try await mapped {
                try await state.endStage(run: header.runID, stage: header.stage, chunks: Int(header.endsStageWith))
            }
        }
        return .with { $0.jobID = job }
    }

    func endStage(request: Latent_Cluster_V1_EndStageRequest, context: ServerContext) async throws -> Latent_Cluster_V1_EndStageReply {
        guard request.chunks <= UInt64(Int32.max) else {
            throw RPCError(code: .invalidArgument, message: "end of pass: chunk count out of range")
        }
        try await mapped { try await state.endStage(run: request.runID, stage: request.stage, chunks: Int(request.chunks)) }
        return .init()
    }

    func fetchResult(request: Latent_Cluster_V1_FetchResultRequest, response: RPCWriter<Latent_Cluster_V1_Part>,
                     context: ServerContext) async throws {
        let result = try await mapped { try await state.takeResult(run: request.runID, stage: request.stage) }
        try await sendPayload(result, header: .init(), to: response)
    }

    func status(request: Latent_Cluster_V1_StatusRequest, context: ServerContext) async throws -> Latent_Cluster_V1_StatusReply {
        let (status, uptime) = await state.status()
        return .with { reply in
            reply.workers = status.workers.map { worker in
                .with {
                    $0.id = worker.id; $0.name = worker.name; $0.peer = worker.peer; $0.threads = UInt32(worker.threads)
                    $0.jobsLeased = UInt32(worker.leased); $0.jobsDone = worker.jobsDone
                    $0.secondsSinceHeartbeat = worker.secondsSinceHeartbeat
                    $0.oldestLeaseSeconds = worker.oldestLeaseSeconds
                }
            }
            reply.uptimeSeconds = uptime
            reply.protocolVersion = ClusterProtocol.version
            if let run = status.run {
                reply.runID = run
                reply.runClient = status.client
                reply.jobsQueued = UInt64(status.queued)
                reply.jobsLeased = UInt64(status.leased)
                reply.jobsDone = status.jobsDone
                reply.documentsDone = UInt64(status.documentsDone)
                reply.documentsPerSecond = status.seconds > 0 ? Double(status.documentsDone) / status.seconds : 0
                reply.stages = status.stages
                reply.stagesHeld = UInt32(clamping: status.stagesHeld)
            }
        }
    }

    /// Runs `body`, turning the state machine's refusals into RPC statuses.
    private func mapped<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let refusal as DispatcherCore.Refusal {
            let code: RPCError.Code = switch refusal.code {
            case .noRun, .stageState: .failedPrecondition
            case .busy: .resourceExhausted
            case .duplicate: .alreadyExists
            case .invalid: .invalidArgument
            }
            throw RPCError(code: code, message: refusal.message)
        }
    }

    /// Decodes or checks what a peer sent, off the RPC tasks; a failure is the peer's error
    /// (`invalidArgument`), its message prefixed by `context`.
    private static func checked<T: Sendable>(_ context: String = "", _ work: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await onThread(work)
        } catch {
            throw RPCError(code: .invalidArgument, message: context + "\(error)")
        }
    }
}

/// The bytes of payloads a dispatcher is receiving at once, by their declared sizes.
final class PayloadBudget: Sendable {
    let limit: UInt64
    /// The most one call may reserve: a quarter of the whole, so that one caller cannot take it all.
    var perCall: UInt64 { limit / 4 }
    private let used = Mutex<UInt64>(0)

    /// Half the machine's memory.
    static var defaultLimit: UInt64 { ProcessInfo.processInfo.physicalMemory / 2 }

    init(limit: UInt64) { self.limit = limit }

    func reserve(_ size: UInt64) -> Bool {
        used.withLock { used in
            guard size <= limit, used <= limit - size else { return false }
            used += size
            return true
        }
    }

    func release(_ size: UInt64) { used.withLock { $0 -= min($0, size) } }

    /// Bytes reserved now.
    var inUse: UInt64 { used.withLock { $0 } }
}

/// Log lines about refused calls: at most one a minute, with the count since the last.
final class RefusalLog: Sendable {
    private let state = Mutex<(count: Int, logged: ContinuousClock.Instant?)>((0, nil))
    private let noted = Mutex(0)

    /// Refusals noted since the start.
    var total: Int { noted.withLock { $0 } }

    func note(_ logger: Logger, _ message: String) {
        noted.withLock { $0 += 1 }
        let report: Int? = state.withLock { state in
            state.count += 1
            if let logged = state.logged, ContinuousClock.now - logged < .seconds(60) { return nil }
            defer { state = (0, .now) }
            return state.count
        }
        if let report { logger.warning("\(message)\(report > 1 ? " (\(report) refusals since the last such line)" : ""); at most one such line a minute") }
    }
}
