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
        var failureWaiters: [UInt64: CheckedContinuation<any Error, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var stages: [UInt64: StageProgress] = [:]
        var lastStage: UInt64 = 0
    }

    private struct StageProgress {
        var report: (@Sendable (_ documents: Int, _ chunks: Int) -> Void)?
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

    /// Waits until the run fails, and throws its failure (or `CancellationError` when the
    /// waiting task is cancelled first).
    func failed() async throws -> Never {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let failure: any Error = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: (any Error)? = state.withLock { state in
                    if let failure = state.failure { return failure }
                    if Task.isCancelled { return CancellationError() }
                    state.failureWaiters[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { $0.failureWaiters.removeValue(forKey: id) }?.resume(returning: CancellationError())
        }
        throw failure
    }

    /// The result of `operation` (a call to the dispatcher), unless the run fails first: a
    /// call on a connection that went silent (a partition) may never end by itself, but the
    /// run's stream of events fails when the keepalive pings go unanswered, and that ends
    /// the call too.
    func racing<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask { try await self.failed() }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// Numbers the next stage; `report` hears of the documents and chunks of each finished job.
    func nextStage(report: (@Sendable (_ documents: Int, _ chunks: Int) -> Void)?) -> UInt64 {
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
            report?(Int(job.documents), Int(max(1, job.chunks)))
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
        let (opening, stages, failures) = state.withLock { state in
            guard state.failure == nil else {
                return ([CheckedContinuation<UInt64, any Error>](), [CheckedContinuation<Completion, any Error>](),
                        [CheckedContinuation<any Error, Never>]())
            }
            state.failure = error
            defer { (state.openWaiters, state.failureWaiters) = ([], [:]) }
            let stages = state.stages.values.compactMap(\.waiter)
            for key in state.stages.keys { state.stages[key]?.waiter = nil }
            return (state.openWaiters, stages, Array(state.failureWaiters.values))
        }
        for waiter in opening { waiter.resume(throwing: error) }
        for waiter in stages { waiter.resume(throwing: error) }
        for waiter in failures { waiter.resume(returning: error) }
    }

    /// An RPC failure as the user should read it.
    static func mapped(_ error: any Error, address: ClusterAddress) -> any Error {
        guard let rpc = error as? RPCError else { return error }
        switch rpc.code {
        case .unavailable, .cancelled, .deadlineExceeded, .unknown, .internalError:
            return ClusterError(.unavailable, "lost the dispatcher at \(address): \(rpc.code): \(rpc.message)", cause: rpc)
        case .unauthenticated, .resourceExhausted, .permissionDenied, .failedPrecondition:
            return ClusterError(.refused, "the dispatcher at \(address) refused the run: \(rpc.message)", cause: rpc)
        default:
            return ClusterError(.protocolViolation, "the dispatcher at \(address): \(rpc.code): \(rpc.message)", cause: rpc)
        }
    }
}
