import Foundation
import GRPCCore
import LatentCorpus
import LatentModels
import Logging

/// The dispatcher's RPC handlers: they check each message (ids, sizes, shapes, finite
/// values) and turn anything malformed into an error status, then act on `DispatcherState`.
struct DispatcherService: Latent_Cluster_V1_Dispatcher.SimpleServiceProtocol {
    let state: DispatcherState
    let heartbeatInterval: Duration
    let logger: Logger

    // MARK: Workers

    func register(request: Latent_Cluster_V1_RegisterRequest, context: ServerContext) async throws -> Latent_Cluster_V1_RegisterReply {
        guard request.threads >= 1, request.threads <= 4096, request.name.utf8.count <= 256 else {
            throw RPCError(code: .invalidArgument, message: "register: expected 1 to 4096 threads and a name of at most 256 bytes")
        }
        let id = await state.register(name: request.name, threads: Int(request.threads), peer: context.remotePeer)
        return .with {
            $0.workerID = id
            $0.dispatcherEpoch = state.epoch
            $0.heartbeatIntervalMs = UInt32(heartbeatInterval / .milliseconds(1))
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
        let deadline = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < deadline {
            if let (job, run, kind, parametersSize) = await state.lease(to: worker) {
                do {
                    try await sendPayload(job.payload, header: .with {
                        $0.job = .with {
                            $0.jobID = job.id; $0.runID = run; $0.stage = job.stage; $0.computation = kind
                            $0.stageParametersSize = UInt64(parametersSize); $0.chunkIndex = UInt64(job.chunkIndex)
                            $0.firstDocument = UInt64(job.firstDocument); $0.documents = UInt64(job.documents)
                            $0.sharedPath = job.sharedPath
                        }
                    }, to: response)
                } catch {
                    logger.debug("sending job #\(job.id) to worker #\(worker) failed: \(error)")
                    await state.leaseFailed(job: job.id, worker: worker)
                    throw error
                }
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await sendPayload([], header: .with { $0.job = .with { $0.jobID = 0 } }, to: response)
    }

    func fetchStage(request: Latent_Cluster_V1_FetchStageRequest, response: RPCWriter<Latent_Cluster_V1_Part>,
                    context: ServerContext) async throws {
        guard let parameters = await state.stageParameters(run: request.runID, stage: request.stage) else {
            throw RPCError(code: .notFound, message: "run #\(request.runID) has no pass \(request.stage)")
        }
        try await sendPayload(parameters, header: .init(), to: response)
    }

    func returnResult(request: RPCAsyncSequence<Latent_Cluster_V1_Part, any Error>,
                      context: ServerContext) async throws -> Latent_Cluster_V1_ResultReply {
        let (payloadHeader, bytes) = try await receivePayload(request, what: "result")
        guard case .result(let header)? = payloadHeader.about else {
            throw RPCError(code: .invalidArgument, message: "result: the header does not describe a result")
        }
        guard await state.isKnown(worker: header.workerID, epoch: header.dispatcherEpoch) else {
            return .with { $0.accepted = false }
        }
        guard let (merger, chunkIndex, documents) = await state.resultTarget(worker: header.workerID, run: header.runID,
                                                                               stage: header.stage, job: header.jobID) else {
            return .with { $0.accepted = false }
        }
        if !header.error.isEmpty {
            await state.jobFailed(run: header.runID, message: String(header.error.prefix(2000)))
            return .with { $0.accepted = true }
        }
        let decoded: OpaqueState
        do {
            decoded = try await Self.checked("state of job #\(header.jobID): ") { try merger.computation.decodeState(bytes) }
        } catch {
            logger.warning("worker #\(header.workerID) returned a malformed state: \(describe(error))")
            throw error
        }
        guard await state.claim(job: header.jobID, worker: header.workerID, run: header.runID) else {
            return .with { $0.accepted = false }
        }
        // The worker goes on to its next job at once; the merges this state makes ready run
        // meanwhile, on the merger's threads.
        let state = self.state
        Task {
            do {
                try await merger.add(chunkIndex, decoded)
                await state.merged(job: header.jobID, chunkIndex: chunkIndex, documents: documents,
                                   worker: header.workerID, run: header.runID, stage: header.stage)
            } catch {
                await state.jobFailed(run: header.runID, message: "merging the state of job #\(header.jobID) failed: \(error)")
            }
        }
        return .with { $0.accepted = true }
    }

    // MARK: Clients

    func openRun(request: Latent_Cluster_V1_OpenRunRequest, response: RPCWriter<Latent_Cluster_V1_RunEvent>,
                 context: ServerContext) async throws {
        let description: String
        switch request.model {
        case .lsi(let p)?:
            guard p.topics >= 1, p.chunkSize >= 1, p.decay.isFinite, p.decay > 0, p.decay <= 1,
                  ["one-pass", "multi-pass"].contains(p.algorithm), ["float64", "float32"].contains(p.precision),
                  p.termCount >= 1 else {
                throw RPCError(code: .invalidArgument, message: "open run: LSI parameters out of range")
            }
            description = "LSI \(p.algorithm), \(p.topics) topics, \(p.precision), seed \(p.seed), decay \(p.decay), oversampling \(p.oversampling), \(p.powerIterations) power iterations, chunks of \(p.chunkSize) documents, \(p.termCount) terms"
        case .computation(let name)?:
            guard !name.isEmpty, name.utf8.count <= 200 else {
                throw RPCError(code: .invalidArgument, message: "open run: a computation name of 1 to 200 bytes expected")
            }
            description = name
        case nil:
            throw RPCError(code: .invalidArgument, message: "open run: no model parameters")
        }
        let client = request.client.isEmpty ? context.remotePeer : "\(request.client) (\(context.remotePeer))"
        // A run in progress may be ending (its client's cancellation in flight): wait up to
        // 3 s for the slot, then refuse with the reason.
        let deadline = ContinuousClock.now + .seconds(3)
        var opened: (UInt64, AsyncStream<Latent_Cluster_V1_RunEvent>)?
        while opened == nil {
            do {
                opened = try await state.openRun(client: String(client.prefix(300)), description: description)
            } catch let error as RPCError where error.code == .resourceExhausted && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard let (id, events) = opened else { return }
        // The run lasts as long as this call: when the client finishes or goes away, gRPC
        // cancels the call and the run ends with it.
        let state = self.state
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
        let (payloadHeader, parameters) = try await receivePayload(request, what: "pass parameters")
        guard case .stage(let header)? = payloadHeader.about else {
            throw RPCError(code: .invalidArgument, message: "stage: the header does not describe a pass")
        }
        let computation = try await Self.checked {
            try PortableComputations.make(kind: header.computation, parameters: parameters)
        }
        try await state.startStage(run: header.runID, stage: header.stage, parameters: parameters, computation: computation)
        return .init()
    }

    func submitChunk(request: RPCAsyncSequence<Latent_Cluster_V1_Part, any Error>,
                     context: ServerContext) async throws -> Latent_Cluster_V1_SubmitReply {
        let (payloadHeader, payload) = try await receivePayload(request, what: "chunk")
        guard case .chunk(let header)? = payloadHeader.about else {
            throw RPCError(code: .invalidArgument, message: "chunk: the header does not describe a chunk")
        }
        guard header.documents >= 1, header.documents <= 100_000_000, header.chunkIndex <= UInt64(Int32.max),
              header.firstDocument <= UInt64(Int64.max / 2) else {
            throw RPCError(code: .invalidArgument, message: "chunk: documents, chunk index or first document out of range")
        }
        let computation = try await state.computation(run: header.runID, stage: header.stage)
        let firstDocument: Int, documents: Int
        if header.sharedPath.isEmpty {
            // Checked here, so a malformed chunk is refused to the client that sent it rather
            // than failing on a worker.
            let chunk = try await Self.checked {
                try SparseChunk(portableBytes: payload, termBound: computation.termBound, payload: "chunk \(header.chunkIndex)")
            }
            guard chunk.documentCount == Int(header.documents), chunk.firstDocument == Int(header.firstDocument) else {
                throw RPCError(code: .invalidArgument, message: "chunk \(header.chunkIndex): holds documents \(chunk.firstDocument)+\(chunk.documentCount), the header says \(header.firstDocument)+\(header.documents)")
            }
            (firstDocument, documents) = (chunk.firstDocument, chunk.documentCount)
        } else {
            // Shared storage: the workers read the documents; the path must name a file.
            let path = header.sharedPath
            guard payload.isEmpty, path.hasPrefix("/"), path.utf8.count <= 4096, !path.contains("\0") else {
                throw RPCError(code: .invalidArgument, message: "chunk \(header.chunkIndex): a shared-storage chunk has an absolute path of at most 4096 bytes and no bytes of its own")
            }
            (firstDocument, documents) = (Int(header.firstDocument), Int(header.documents))
        }
        while true {
            if let job = try await state.enqueue(run: header.runID, stage: header.stage, chunkIndex: Int(header.chunkIndex),
                                                 firstDocument: firstDocument, documents: documents,
                                                 payload: payload, sharedPath: header.sharedPath) {
                return .with { $0.jobID = job }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func endStage(request: Latent_Cluster_V1_EndStageRequest, context: ServerContext) async throws -> Latent_Cluster_V1_EndStageReply {
        guard request.chunks <= UInt64(Int32.max) else {
            throw RPCError(code: .invalidArgument, message: "end of pass: chunk count out of range")
        }
        try await state.endStage(run: request.runID, stage: request.stage, chunks: Int(request.chunks))
        return .init()
    }

    func fetchResult(request: Latent_Cluster_V1_FetchResultRequest, response: RPCWriter<Latent_Cluster_V1_Part>,
                     context: ServerContext) async throws {
        let result = try await state.result(run: request.runID, stage: request.stage)
        try await sendPayload(result, header: .init(), to: response)
    }

    func status(request: Latent_Cluster_V1_StatusRequest, context: ServerContext) async throws -> Latent_Cluster_V1_StatusReply {
        await state.status()
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
