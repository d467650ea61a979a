import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatentCorpus
import LatentModels
import Logging
import Synchronization

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
    /// The computations that may be sent; a computation not in it fails before anything is
    /// sent (the dispatcher and the workers must hold it in their own registries too).
    public var registry: ComputationRegistry
    /// Where the last session ran, for reports: "cluster at HOST:PORT, N workers" or the
    /// in-process executor's description; nil before any.
    public var lastChoice: String? { choice.value }
    private let choice = ChoiceRecord()

    public init(execution: Execution = .automatic, dispatcher: ClusterAddress = .defaultDispatcher,
                security: ClusterSecurity = ClusterSecurity(), local: InProcessExecutor = InProcessExecutor(),
                clientName: String = "\(ProcessInfo.processInfo.hostName) pid \(ProcessInfo.processInfo.processIdentifier)",
                logger: Logger = Logger(label: "latent.cluster"), sharedStorage: Bool = false,
                registry: ComputationRegistry) {
        self.execution = execution
        self.dispatcher = dispatcher
        self.security = security
        self.local = local
        self.clientName = clientName
        self.logger = logger
        self.sharedStorage = sharedStorage
        self.registry = registry
    }

    public var description: String {
        switch execution {
        case .serial: local.description
        case .automatic: "cluster at \(dispatcher) if one answers, else \(local.description)"
        case .distributed: "cluster at \(dispatcher)"
        }
    }

    public func session<Result: Sendable>(
        _ description: SessionDescription, _ body: (any TrainingSession) async throws -> Result
    ) async throws -> Result {
        if execution == .serial {
            choice.value = local.description
            logger.info("running in-process (\(local.description))")
            return try await local.session(description, body)
        }
        var replaces: UInt64 = 0
        var resumes = 0
        while true {
            do {
                return try await attempt(description, body, replacing: replaces)
            } catch let lost as LostDispatcher {
                guard grace > .zero else { throw lost.error }
                resumes += 1
                guard resumes <= Self.maximumResumes else {
                    throw ClusterError(.unavailable, "\(lost.error.message) (lost \(resumes) times in this run; giving up)", cause: lost.error)
                }
                let seconds = Int(grace.components.seconds)
                logger.warning("\(lost.error.message); waiting up to \(seconds) s for it to come back (--grace)")
                guard await waitForDispatcher(until: .now + grace) else {
                    let message = "\(lost.error.message), and it was not back with a worker within the grace period of \(seconds) s (--grace)"
                    guard execution == .automatic else { throw ClusterError(.unavailable, message, cause: lost.error) }
                    logger.warning("\(message): running in-process (\(local.description))")
                    choice.value = local.description
                    return try await local.session(description, body)
                }
                logger.warning("the dispatcher at \(dispatcher) is back: running the session again (reductions recorded in a --checkpoint folder are replayed, not run)")
                replaces = lost.runID
            }
        }
    }

    /// How long a client that lost its dispatcher mid-run waits for it (a restarted
    /// dispatcher, a network that comes back) before it fails: with a dispatcher back within
    /// it, the session runs again, replaying what its checkpoint holds. Zero: fail at once.
    public var grace: Duration = .seconds(30)

    /// Times a session may lose its dispatcher and start again before it fails.
    static let maximumResumes = 10

    /// The dispatcher went away during run `runID`.
    private struct LostDispatcher: Error {
        let runID: UInt64
        let error: ClusterError
    }

    /// Whether a dispatcher with at least one worker answers at `dispatcher` before `deadline`.
    private func waitForDispatcher(until deadline: ContinuousClock.Instant) async -> Bool {
        while ContinuousClock.now < deadline {
            let workers = try? await Transport.withDispatcher(dispatcher, security: security) { client in
                try await client.status(.init(), options: Transport.callOptions(timeout: .seconds(1))).workers.count
            }
            if let workers, workers > 0 { return true }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    /// One try at the session: the status call that decides where it runs, then the run.
    private func attempt<Result: Sendable>(
        _ description: SessionDescription, _ body: (any TrainingSession) async throws -> Result, replacing: UInt64
    ) async throws -> Result {
        return try await Transport.withDispatcher(dispatcher, security: security) { client in
            let lookup: Lookup
            do {
                let options = Transport.callOptions(timeout: .seconds(statusTimeoutSeconds))
                let status = try await client.status(.init(), options: options)
                let workers = status.workers.count
                if let mismatch = ClusterProtocol.mismatch("the dispatcher at \(dispatcher)", speaks: status.protocolVersion,
                                                           us: "this program") {
                    lookup = .incompatible(mismatch)
                } else {
                    lookup = workers > 0 ? .ready(workers: workers) : .noWorkers
                }
            } catch let error as RPCError where error.code == .unauthenticated {
                lookup = .refused(security.token == nil
                    ? "requires a cluster token (give --token-file or set LATENT_CLUSTER_TOKEN)" : "refused the token")
            } catch {
                lookup = await unreachable(error)
            }
            let address = dispatcher
            switch lookup {
            case .ready(let workers):
                choice.value = "cluster at \(address), \(counted(workers, "worker"))"
                logger.info("using distributed version with \(counted(workers, "worker")) (dispatcher \(address))")
                return try await distributed(client, description, body, replacing: replacing)
            case .noWorkers:
                let reason = "the dispatcher at \(address) has no workers"
                guard execution == .automatic else {
                    throw ClusterError(.unavailable, "distributed mode: \(reason). Start `latent worker --dispatcher \(address)`, or use --distributed auto or off")
                }
                logger.info("\(reason): running in-process (\(local.description))")
            case .refused(let why):
                let reason = "the dispatcher at \(address) \(why)"
                guard execution == .automatic else { throw ClusterError(.refused, "distributed mode: \(reason)") }
                logger.warning("\(reason); training in-process (\(local.description))")
            case .incompatible(let why):
                guard execution == .automatic else { throw ClusterError(.refused, "distributed mode: \(why)") }
                logger.warning("\(why); training in-process (\(local.description))")
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

    /// How long the status call before a session waits: 1 s when the cluster is only used if
    /// it answers (a user who did not ask for one should not wait), longer when it is required,
    /// so that a dispatcher slowed by a busy machine is not reported as absent.
    private var statusTimeoutSeconds: Int64 { execution == .automatic ? 1 : 10 }

    /// What the status call before a session found.
    private enum Lookup {
        case ready(workers: Int)
        case noWorkers
        case refused(String)
        /// A dispatcher of another Latent (`ClusterProtocol`).
        case incompatible(String)
        /// Something listens but the call failed: most likely TLS on one side only, or the
        /// wrong CA certificate.
        case misconfigured(String)
        case unreachable(why: String)
    }

    /// Why a dispatcher could not be reached, telling a TLS mismatch from a missing dispatcher.
    private func unreachable(_ error: any Error) async -> Lookup {
        let detail = describe(error)
        let lowered = detail.lowercased()
        if let reason = await TLSProbe.diagnose(dispatcher, security: security) {
            return .misconfigured("the TLS connection to the dispatcher at \(dispatcher) failed: \(reason)")
        }
        if security.trustRootsPath != nil,
           ["tls", "ssl", "handshake", "certificate"].contains(where: lowered.contains) {
            return .misconfigured("the TLS connection to the dispatcher at \(dispatcher) failed (\(detail))")
        }
        if Transport.acceptsConnections(dispatcher) {
            let hint = security.trustRootsPath == nil
                ? "if it is a TLS dispatcher, give its CA certificate with --tls-ca"
                : "check that it is a TLS dispatcher and that --tls-ca names its CA certificate"
            return .misconfigured("a server listens at \(dispatcher) but did not answer as a dispatcher within \(statusTimeoutSeconds) s (\(detail)); \(hint)")
        }
        return .unreachable(why: "no dispatcher answered at \(dispatcher) within \(statusTimeoutSeconds) s (\(detail))")
    }

    private func distributed<Result: Sendable>(
        _ client: DispatcherClient, _ description: SessionDescription,
        _ body: (any TrainingSession) async throws -> Result, replacing: UInt64
    ) async throws -> Result {
        let run = ClientRun(dispatcher: dispatcher, logger: logger)
        let request = Latent_Cluster_V1_OpenRunRequest.with {
            $0.client = clientName
            $0.kind = description.kind
            $0.parameters = Data(description.parameters)
            $0.description_p = description.summary
            $0.replacesRun = replacing
            $0.protocolVersion = ClusterProtocol.version
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
            var opened: UInt64?
            do {
                let id = try await run.opened()
                opened = id
                let result = try await body(ClusterSession(client: client, run: run, runID: id, logger: logger,
                                                           sharedStorage: sharedStorage, registry: registry))
                group.cancelAll()
                return result
            } catch {
                // An RPC's own error may be less telling than the run's (a lost dispatcher).
                // Read before the run's call is cancelled, which fails the run too.
                let failure = run.failure ?? ClientRun.mapped(error, address: address)
                group.cancelAll()
                if let opened, let lost = failure as? ClusterError, lost.code == .unavailable {
                    throw LostDispatcher(runID: opened, error: lost)
                }
                throw failure
            }
        }
    }
}

/// What `ClusterExecutor.lastChoice` reads.
private final class ChoiceRecord: Sendable {
    private let stored = Mutex<String?>(nil)
    var value: String? {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
