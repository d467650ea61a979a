import Foundation
import GRPCCore
import LatentModels
import Logging
import Synchronization

/// What the client knows of its run, fed by the dispatcher's stream of events: whether it
/// is open, each stage's progress and completion, and its failure.
final class ClientRun: Sendable {
    let dispatcher: ClusterAddress
    let logger: Logger
    private let state = Mutex(State())

    /// A stage's completion: the size of its merged state, and the state itself when the
    /// dispatcher sent it with the event (small states).
    struct Completion: Sendable {
        var size: UInt64
        var inline: [UInt8]?
    }

    private struct State {
        var runID: UInt64?
        var failure: (any Error)?
        var openWaiters: [CheckedContinuation<UInt64, any Error>] = []
        var stages: [UInt64: StageProgress] = [:]
        var lastStage: UInt64 = 0
    }

    private struct StageProgress {
        var report: (@Sendable (_ documents: Int) -> Void)?
        var completion: Completion?
        var waiter: CheckedContinuation<Completion, any Error>?
    }

    init(dispatcher: ClusterAddress, logger: Logger) {
        self.dispatcher = dispatcher
        self.logger = logger
    }

    var failure: (any Error)? { state.withLock { $0.failure } }

    func opened() async throws -> UInt64 {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<UInt64, any Error>? = state.withLock { state in
                if let failure = state.failure { return .failure(failure) }
                if let runID = state.runID { return .success(runID) }
                state.openWaiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Numbers the next stage; `report` hears of the documents of each finished job.
    func nextStage(report: (@Sendable (_ documents: Int) -> Void)?) -> UInt64 {
        state.withLock { state in
            state.lastStage += 1
            state.stages[state.lastStage] = StageProgress(report: report)
            return state.lastStage
        }
    }

    /// Waits for the dispatcher to report the stage complete, then forgets the stage.
    func completion(of stage: UInt64) async throws -> Completion {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Completion, any Error>? = state.withLock { state in
                if let failure = state.failure { return .failure(failure) }
                if let completion = state.stages[stage]?.completion {
                    state.stages[stage] = nil
                    return .success(completion)
                }
                state.stages[stage]?.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    func receive(_ event: Latent_Cluster_V1_RunEvent) {
        switch event.event {
        case .opened(let opened)?:
            let waiters = state.withLock { state in
                state.runID = opened.runID
                defer { state.openWaiters = [] }
                return state.openWaiters
            }
            logger.info("run #\(opened.runID) opened at the dispatcher \(dispatcher)")
            for waiter in waiters { waiter.resume(returning: opened.runID) }
        case .finished(let job)?:
            let report = state.withLock { $0.stages[job.stage]?.report }
            report?(Int(job.documents))
        case .complete(let complete)?:
            let done = Completion(size: complete.size, inline: complete.inline ? [UInt8](complete.result) : nil)
            let waiter = state.withLock { state -> CheckedContinuation<Completion, any Error>? in
                guard let waiter = state.stages[complete.stage]?.waiter else {
                    state.stages[complete.stage]?.completion = done
                    return nil
                }
                state.stages[complete.stage] = nil
                return waiter
            }
            waiter?.resume(returning: done)
        case .requeued(let requeued)?:
            let jobs = requeued.jobIds.map { "#\($0)" }.joined(separator: ", ")
            if requeued.reason.hasPrefix("held job") {
                logger.warning("worker #\(requeued.workerID) \(sanitized(requeued.reason)); job \(jobs) was requeued")
            } else {
                logger.warning("worker #\(requeued.workerID) was dropped (\(sanitized(requeued.reason))); its jobs \(jobs) were requeued")
            }
        case .failed(let failed)?:
            fail(ClusterError(.runFailed, "the distributed run failed: \(failed.message)"))
        case nil:
            break
        }
    }

    func fail(_ error: any Error) {
        let (opening, stages) = state.withLock { state -> ([CheckedContinuation<UInt64, any Error>], [CheckedContinuation<Completion, any Error>]) in
            guard state.failure == nil else { return ([], []) }
            state.failure = error
            let opening = state.openWaiters
            state.openWaiters = []
            let stages = state.stages.values.compactMap(\.waiter)
            for key in state.stages.keys { state.stages[key]?.waiter = nil }
            return (opening, stages)
        }
        for waiter in opening { waiter.resume(throwing: error) }
        for waiter in stages { waiter.resume(throwing: error) }
    }

    /// An RPC failure as the user should read it.
    static func mapped(_ error: any Error, address: ClusterAddress) -> any Error {
        guard let rpc = error as? RPCError else { return error }
        switch rpc.code {
        case .unavailable, .cancelled, .deadlineExceeded, .unknown, .internalError:
            return ClusterError(.unavailable, "lost the dispatcher at \(address): \(rpc.code): \(rpc.message)", cause: rpc)
        case .unauthenticated, .resourceExhausted, .permissionDenied:
            return ClusterError(.refused, "the dispatcher at \(address) refused the run: \(rpc.message)", cause: rpc)
        default:
            return ClusterError(.protocolViolation, "the dispatcher at \(address): \(rpc.code): \(rpc.message)", cause: rpc)
        }
    }
}
