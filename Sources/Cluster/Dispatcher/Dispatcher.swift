import GRPCCore
import GRPCNIOTransportHTTP2
import LatentModels
import Logging
import NIOCore

/// `latent dispatcher`: the one process workers and clients connect to. It keeps the
/// registry of workers, the queue of jobs of the run in progress and their leases, and
/// merges the partial states as they arrive.
public struct Dispatcher: Sendable {
    public struct Options: Sendable {
        public var listen: ClusterAddress
        public var security: ClusterSecurity
        /// Listen beyond loopback without a token (a trusted network only).
        public var insecure: Bool
        /// Accept a token on a plaintext listener beyond loopback (it travels in clear).
        public var insecurePlaintextToken: Bool
        /// A worker silent for longer is dropped and its jobs requeued.
        public var heartbeatTimeout: Duration
        /// How often workers send heartbeats.
        public var heartbeatInterval: Duration
        /// The shortest a lease lasts before its job is requeued for any worker; the limit is
        /// ten times the median job time when that is longer.
        public var minimumLease: Duration = .seconds(60)
        /// Called when a run has ended and its stages are let go: `latent dispatcher` hands
        /// the freed memory back to the system there (its allocator otherwise keeps it).
        public var afterRun: (@Sendable () -> Void)?
        /// Connections held at most, in all (nil: the descriptors the process may open, less a
        /// reserve) and per remote address (loopback exempt); past them a connection is
        /// closed as soon as it is accepted.
        public var maxConnections: Int?
        public var maxConnectionsPerPeer = 256
        /// A connection that sends nothing for this long is closed (a peer gone without a
        /// word, or one that never spoke gRPC). Latent's clients and workers ping every 4 s,
        /// so it must be longer than that.
        public var silenceLimit: Duration = .seconds(20)

        public init(listen: ClusterAddress = .defaultDispatcher, security: ClusterSecurity = ClusterSecurity(),
                    insecure: Bool = false, insecurePlaintextToken: Bool = false, heartbeatTimeout: Duration = .seconds(4),
                    heartbeatInterval: Duration = .milliseconds(500)) {
            self.listen = listen
            self.security = security
            self.insecure = insecure
            self.insecurePlaintextToken = insecurePlaintextToken
            self.heartbeatTimeout = heartbeatTimeout
            self.heartbeatInterval = heartbeatInterval
        }
    }

    public let options: Options
    /// The computations stages may run; a stage of any other kind is refused.
    public let registry: ComputationRegistry
    let logger: Logger
    private let state: DispatcherState
    private let service: DispatcherService
    private let tokenCheck: TokenCheck?

    /// Checks the options: without a token the dispatcher listens on loopback only, unless
    /// `insecure` says otherwise.
    public init(options: Options, registry: ComputationRegistry, logger: Logger) throws {
        if options.security.token != nil, options.security.certificatePath == nil, !options.listen.isLoopback,
           !options.insecurePlaintextToken {
            throw ClusterError(.invalidConfiguration, "refusing to take a token in plaintext on \(options.listen): anyone on the network path could read it. Give the dispatcher a certificate (--tls-cert, --tls-key), listen on loopback, or pass --insecure-plaintext-token on a trusted network")
        }
        if options.security.token == nil, !options.listen.isLoopback, !options.insecure {
            throw ClusterError(.invalidConfiguration, "refusing to listen on \(options.listen) without a token: anyone who can reach it could use the cluster. Set --token (or LATENT_CLUSTER_TOKEN), or pass --insecure on a trusted network")
        }
        guard options.heartbeatTimeout > options.heartbeatInterval, options.heartbeatInterval > .zero else {
            throw ClusterError(.invalidConfiguration, "--heartbeat-timeout must be longer than the heartbeat interval")
        }
        guard options.silenceLimit > Transport.clientPingInterval else {
            throw ClusterError(.invalidConfiguration, "the silence limit (\(options.silenceLimit)) must be longer than the interval at which clients and workers ping (\(Transport.clientPingInterval))")
        }
        try options.security.check()
        self.options = options
        self.registry = registry
        self.logger = logger
        state = DispatcherState(heartbeatTimeout: options.heartbeatTimeout, minimumLease: options.minimumLease,
                                registry: registry, logger: logger, afterRun: options.afterRun)
        service = DispatcherService(state: state, heartbeatInterval: options.heartbeatInterval, logger: logger)
        tokenCheck = options.security.token.map { TokenCheck(token: $0, logger: logger) }
    }

    /// The dispatcher's metrics, in Prometheus's text format: what it has done since it
    /// started (workers, runs, stages, jobs, documents, refusals) and what it holds now.
    public func metrics() async -> String {
        let (counters, status, uptime) = await state.metrics()
        return DispatcherMetrics.text(counters: counters, status: status, uptime: uptime, transport: .init(
            refusedTokens: tokenCheck?.refusals.total ?? 0, refusedPayloads: service.refusals.total,
            payloadBytesReserved: service.buffered.inUse))
    }

    /// Serves until the task is cancelled. `onListening` gets the bound address (the port
    /// is chosen by the system when 0 was asked for).
    public func run(onListening: @escaping @Sendable (ClusterAddress) -> Void = { _ in }) async throws {
        ComputeThreads.alone(on: 1)
        let state = self.state
        let limits = ConnectionLimits(total: options.maxConnections ?? ConnectionLimits.defaultTotal,
                                      perPeer: options.maxConnectionsPerPeer,
                                      silence: TimeAmount(options.silenceLimit)) { peer in
            Task { await state.connectionClosed(peer: peer) }
        }
        let transport = try Transport.server(options.listen, security: options.security, limits: limits, logger: logger)
        let interceptors: [any ServerInterceptor] = tokenCheck.map { [$0] } ?? []
        let server = GRPCServer(transport: transport, services: [service], interceptors: interceptors)
        let listen = options.listen
        let secure = options.security.certificatePath != nil
        let mutual = options.security.trustRootsPath != nil
        let token = options.security.token != nil
        let logger = self.logger
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            group.addTask {
                let address = try await transport.listeningAddress
                let port = address.ipv4?.port ?? address.ipv6?.port ?? listen.port
                let bound = ClusterAddress(host: listen.host, port: port)
                logger.info("dispatcher listening on \(bound) (\(secure ? (mutual ? "mutual TLS" : "TLS") : "plaintext"), \(token ? "token required" : "no token"))")
                onListening(bound)
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(250))
                    await state.sweep()
                }
            }
        }
    }
}
