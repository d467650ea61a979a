import ArgumentParser
import Foundation
import Latent
import LatentCluster
import LatentServer

#if canImport(Glibc)
import Glibc
#endif

/// The token and certificates every cluster command takes.
struct ClusterSecurityOptions: ParsableArguments {
    @Option(help: "Cluster token, at least 16 characters (visible to other users in `ps`: prefer --token-file or LATENT_CLUSTER_TOKEN).")
    var token: String?
    @Option(help: "File whose first line is the cluster token.") var tokenFile: String?
    @Option(help: "PEM CA certificate: on clients and workers, turns TLS on and checks the dispatcher's certificate; on the dispatcher, requires client certificates signed by it (mutual TLS).")
    var tlsCa: String?
    @Option(help: "PEM certificate: the dispatcher's (turns TLS on), or a client's or worker's own for mutual TLS.")
    var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert.") var tlsKey: String?

    /// The token (from --token, --token-file or LATENT_CLUSTER_TOKEN, checked) and certificates.
    func security(logger: Logger) throws -> ClusterSecurity {
        let secret = try secretToken(flag: token, file: tokenFile, environment: "LATENT_CLUSTER_TOKEN", logger: logger)
        if let secret {
            guard secret.count >= ClusterSecurity.minimumTokenLength else {
                throw ValidationError("the cluster token must be at least \(ClusterSecurity.minimumTokenLength) characters, got \(secret.count); use a long random one (for example `openssl rand -hex 16`)")
            }
            guard !secret.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                throw ValidationError("the cluster token must not contain spaces or line ends")
            }
        }
        return ClusterSecurity(token: secret, certificatePath: tlsCert, privateKeyPath: tlsKey, trustRootsPath: tlsCa)
    }
}

/// A secret token: the first line of `file`, else `flag` (warned about: every user of the
/// machine reads it in `ps`), else the environment variable `environment`; nil for none.
func secretToken(flag: String?, file: String?, environment: String, logger: Logger) throws -> String? {
    if flag != nil && file != nil { throw ValidationError("give --token or --token-file, not both") }
    if let file {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
              let line = text.split(separator: "\n", omittingEmptySubsequences: false).first else {
            throw ValidationError("--token-file \(file): cannot read it")
        }
        return line.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    if let flag {
        logger.warning("a token given with --token is visible to every user of this machine (ps); use --token-file or \(environment)")
        return flag
    }
    return ProcessInfo.processInfo.environment[environment].flatMap { $0.isEmpty ? nil : $0 }
}

/// `--dispatcher`, shared by every command that talks to one.
struct DispatcherOption: ParsableArguments {
    @Option(help: "Dispatcher HOST:PORT (default: LATENT_DISPATCHER, else \(ClusterAddress.defaultDispatcher)).")
    var dispatcher: String?

    var address: ClusterAddress {
        get throws { try ClusterAddress.dispatcher(flag: dispatcher) }
    }
}

/// `--distributed`: gensim's `distributed` flag, with a third choice.
enum DistributedMode: String, ExpressibleByArgument, CaseIterable {
    case auto, off, required

    static func parse(_ text: String) throws -> DistributedMode {
        guard let mode = DistributedMode(rawValue: text) else {
            throw ValidationError("--distributed: expected auto, off or required, got '\(text)'")
        }
        return mode
    }

    var execution: Execution {
        switch self {
        case .auto: .automatic
        case .off: .serial
        case .required: .distributed
        }
    }
}

/// How `latent lsi` and `latent example` choose where to train.
struct ExecutionOptions: ParsableArguments {
    @Option(help: "auto (the cluster if a dispatcher with workers answers within 1 s, else in-process), off (in-process), or required (the cluster, or fail).",
            transform: DistributedMode.parse)
    var distributed: DistributedMode = .auto
    @OptionGroup var dispatcher: DispatcherOption
    @Flag(help: "Workers read the corpus file themselves, at the same path (a .lbc, or a .mm with its .index): jobs carry only document ranges.")
    var sharedStorage = false
    @OptionGroup var cluster: ClusterSecurityOptions
    @Option(parsing: .unconditional, help: "Seconds a run that lost its dispatcher (a restart, a network outage) waits for it to come back before failing; the run then starts again, replaying what --checkpoint recorded. 0: fail at once.")
    var grace: Double = 30

    func validate() throws {
        guard grace.isFinite, grace >= 0, grace <= 86400 else {
            throw ValidationError("--grace: expected 0 to 86400 seconds, got \(grace)")
        }
    }

    func executor(threads: Int?, logger: Logger) throws -> ClusterExecutor {
        var executor = ClusterExecutor(execution: distributed.execution, dispatcher: try dispatcher.address,
                                       security: try cluster.security(logger: logger), local: InProcessExecutor(threads: threads),
                                       logger: logger, sharedStorage: sharedStorage, registry: .builtIn)
        executor.grace = .milliseconds(Int64(grace * 1000))
        return executor
    }
}

/// `--checkpoint DIR` and `--resume`: training that survives being interrupted.
struct CheckpointOptions: ParsableArguments {
    @Option(help: "Folder for the run's checkpoint: the merged state of each completed reduction, written as it completes, so that an interrupted run continues with --resume (and a distributed run whose dispatcher came back continues by itself). Removed once the model is saved.")
    var checkpoint: String?
    @Flag(help: "Continue the run recorded in the --checkpoint folder: the reductions it holds are replayed, not run, and the model is the one an uninterrupted run makes.")
    var resume = false
    @Option(parsing: .unconditional, help: "Seconds between saves of a long reduction's finished start (in-process; one-pass LSI is one reduction over the whole corpus).")
    var checkpointEvery: Double = 300

    func validate() throws {
        if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint DIR: the folder of the run to continue") }
        guard checkpointEvery.isFinite, checkpointEvery >= 0.01, checkpointEvery <= 604800 else {
            throw ValidationError("--checkpoint-every: expected 0.01 to 604800 seconds, got \(checkpointEvery)")
        }
    }

    /// `executor`, keeping a checkpoint when one is asked for; and the checkpoint, to remove
    /// once the outputs are saved.
    func wrapping(_ executor: any ChunkExecutor, logger: Logger) throws -> (any ChunkExecutor, TrainingCheckpoint?) {
        guard let checkpoint else { return (executor, nil) }
        let kept = try TrainingCheckpoint(directory: checkpoint, resume: resume,
                                          interval: .milliseconds(Int64(checkpointEvery * 1000)), logger: logger)
        return (CheckpointingExecutor(executor, checkpoint: kept), kept)
    }
}

struct DispatcherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatcher",
        abstract: "Run the cluster's dispatcher: workers register with it, clients send it their runs.",
        discussion: """
            Without a token it listens on loopback only, unless --insecure is given; beyond loopback it takes a \
            token (at least 16 characters) only with TLS, unless --insecure-plaintext-token. With --tls-cert and \
            --tls-key it speaks TLS; adding --tls-ca requires client certificates (mutual TLS). It prints \
            "latent dispatcher listening on HOST:PORT" once it listens (with --listen HOST:0 the port is \
            chosen by the system).

            Examples:
              latent dispatcher                                     # 127.0.0.1:7950
              LATENT_CLUSTER_TOKEN=$(cat cluster.token) latent dispatcher --listen 127.0.0.1:7950
              latent dispatcher --listen 0.0.0.0:7950 --token-file cluster.token --tls-cert cert.pem --tls-key key.pem
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "HOST:PORT to listen on.") var listen: String = ClusterAddress.defaultDispatcher.description
    @OptionGroup var cluster: ClusterSecurityOptions
    @Flag(help: "Allow listening beyond loopback without a token (trusted networks only).") var insecure = false
    @Flag(help: "Allow a token on a plaintext listener beyond loopback, where anyone on the path can read it (trusted networks only; TLS otherwise).")
    var insecurePlaintextToken = false
    @Option(parsing: .unconditional, help: "Seconds without a heartbeat after which a worker is dropped and its jobs requeued.")
    var heartbeatTimeout: Double = Double(Dispatcher.Options().heartbeatTimeout.components.seconds)
    @Option(help: "Seconds a job may stay leased before it goes back to the queue for any worker (at least; ten times the median job time when longer).")
    var leaseLimit: Double = 60
    @Option(help: "HOST:PORT to serve Prometheus metrics on, at /metrics (off by default); with a cluster token the page needs it as Authorization: Bearer.")
    var metrics: String?
    @Option(parsing: .unconditional, help: "Connections held at most; past it a connection is closed at once (default: the open-file limit less 256, at most 65536).")
    var maxConnections: Int?
    @Option(parsing: .unconditional, help: "Connections held at most from one remote address (loopback exempt).")
    var maxConnectionsPerPeer: Int = 256

    func validate() throws {
        guard leaseLimit.isFinite, leaseLimit >= 0.1, leaseLimit <= 86400 else {
            throw ValidationError("--lease-limit: expected 0.1 to 86400 seconds, got \(leaseLimit)")
        }
        guard heartbeatTimeout.isFinite, heartbeatTimeout >= 0.5, heartbeatTimeout <= 3600 else {
            throw ValidationError("--heartbeat-timeout: expected 0.5 to 3600 seconds, got \(heartbeatTimeout)")
        }
        if let maxConnections, maxConnections < 4 { throw ValidationError("--max-connections: expected at least 4, got \(maxConnections)") }
        if maxConnectionsPerPeer < 2 { throw ValidationError("--max-connections-per-peer: expected at least 2, got \(maxConnectionsPerPeer)") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.dispatcher")
        OpenFiles.raiseLimit(logger: logger)
        let address = try ClusterAddress(parsing: listen, field: "--listen")
        let timeout = Duration.milliseconds(Int(heartbeatTimeout * 1000))
        var options = Dispatcher.Options(listen: address, security: try cluster.security(logger: logger), insecure: insecure,
                                         insecurePlaintextToken: insecurePlaintextToken,
                                         heartbeatTimeout: timeout, heartbeatInterval: min(.milliseconds(500), timeout / 4))
        options.minimumLease = .milliseconds(Int(leaseLimit * 1000))
        options.afterRun = { Allocator.returnFreedMemory() }
        options.maxConnections = maxConnections
        options.maxConnectionsPerPeer = maxConnectionsPerPeer
        let dispatcher = try Dispatcher(options: options, registry: .builtIn, logger: logger)
        let page = try metrics.map { text in
            let address = try ClusterAddress(parsing: text, field: "--metrics")
            return try MetricsServer(host: address.host, port: address.port, token: options.security.token, insecure: insecure,
                                     insecurePlaintextToken: insecurePlaintextToken, logger: logger)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await dispatcher.run { bound in
                    // Unbuffered, so a supervising process (or a test) sees it at once.
                    FileHandle.standardOutput.write(Data("latent dispatcher listening on \(bound)\n".utf8))
                }
            }
            if let page {
                group.addTask {
                    try await page.run(text: { await dispatcher.metrics() }) { bound in
                        FileHandle.standardOutput.write(Data("latent dispatcher metrics on http://\(bound)/metrics\n".utf8))
                    }
                }
            }
            // Either ending ends both.
            try await group.next()
            group.cancelAll()
        }
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a cluster worker: take jobs from the dispatcher until stopped.",
        discussion: """
            A worker serves any number of runs, one after another, and registers again by itself when the \
            dispatcher restarts.

            Examples:
              latent worker                                   # dispatcher at 127.0.0.1:7950
              latent worker --dispatcher 10.0.0.5:7950 --threads 8 --token-file cluster.token --tls-ca cert.pem
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dispatcher: DispatcherOption
    @Option(parsing: .unconditional, help: "Jobs to run at once (default: all cores).") var threads: Int?
    @Option(help: "How the dispatcher's logs name this worker (default: host name and process id).") var name: String?
    @OptionGroup var cluster: ClusterSecurityOptions

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.worker")
        let options = Worker.Options(
            dispatcher: try dispatcher.address, security: try cluster.security(logger: logger),
            threads: threads ?? Worker.Options().threads,
            name: name ?? "\(ProcessInfo.processInfo.hostName) pid \(ProcessInfo.processInfo.processIdentifier)")
        try await Worker(options: options, registry: .builtIn, logger: logger).run()
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the dispatcher's workers, the run in progress, its jobs and throughput."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dispatcher: DispatcherOption
    @OptionGroup var cluster: ClusterSecurityOptions

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.status")
        let status = try await ClusterStatus.fetch(from: try dispatcher.address, security: try cluster.security(logger: logger))
        print(status.rendered())
    }
}
