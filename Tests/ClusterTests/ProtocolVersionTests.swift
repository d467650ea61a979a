import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Latent
@testable import LatentCluster
import Logging
import TestSupport
import Testing

/// Workers and clients facing a dispatcher of another Latent: the dispatcher's own refusals
/// of other versions are in `ClusterSecurityTests.malformed`.
@Suite("cluster protocol versions", .serialized, .timeLimit(.minutes(2)))
struct ProtocolVersionTests {
    /// The real dispatcher service, whose replies say nothing of a version, as a dispatcher of
    /// a Latent from before versions answers. `stop` ends it.
    final class OlderDispatcher: Sendable {
        let address: ClusterAddress
        let log = LogCapture()
        private let task: Task<Void, any Error>

        init() async throws {
            let state = DispatcherState(heartbeatTimeout: .seconds(4), registry: WeightSum.registry, logger: log.logger)
            let service = DispatcherService(state: state, heartbeatInterval: .milliseconds(500), logger: log.logger)
            let transport = try Transport.server(ClusterAddress(host: "127.0.0.1", port: 0), security: ClusterSecurity())
            let server = GRPCServer(transport: transport, services: [service], interceptors: [VersionlessReplies()])
            task = Task { try await server.serve() }
            let bound = try await transport.listeningAddress
            address = ClusterAddress(host: "127.0.0.1", port: bound.ipv4?.port ?? 0)
        }

        func stop() { task.cancel() }
    }

    /// Clears the version of every reply that carries one.
    struct VersionlessReplies: ServerInterceptor {
        func intercept<Input: Sendable, Output: Sendable>(
            request: StreamingServerRequest<Input>, context: ServerContext,
            next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
        ) async throws -> StreamingServerResponse<Output> {
            var response = try await next(request, context)
            guard case .success(var contents) = response.accepted else { return response }
            let producer = contents.producer
            contents.producer = { writer in try await producer(RPCWriter(wrapping: VersionClearing(base: writer))) }
            response.accepted = .success(contents)
            return response
        }
    }

    struct VersionClearing<Element: Sendable>: RPCWriterProtocol {
        let base: RPCWriter<Element>

        func write(_ element: Element) async throws {
            var element = element
            if var reply = element as? Latent_Cluster_V1_StatusReply {
                reply.protocolVersion = 0
                element = reply as? Element ?? element
            } else if var reply = element as? Latent_Cluster_V1_RegisterReply {
                reply.protocolVersion = 0
                element = reply as? Element ?? element
            }
            try await base.write(element)
        }

        func write(contentsOf elements: some Sequence<Element>) async throws {
            for element in elements { try await write(element) }
        }
    }

    static let expected = "speaks version 0 of the cluster protocol (a Latent from before protocol versions, older than this one)"

    @Test("a worker refuses a dispatcher of another version and stops, naming both versions")
    func workerRefuses() async throws {
        let dispatcher = try await OlderDispatcher()
        defer { dispatcher.stop() }
        let worker = try Worker(options: .init(dispatcher: dispatcher.address, threads: 1, name: "new"), registry: WeightSum.registry,
                                logger: Logger(label: "worker") { _ in SwiftLogNoOpLogHandler() })
        await #expect {
            try await worker.run()
        } throws: { error in
            "\(error)".contains("the dispatcher at \(dispatcher.address) \(Self.expected), this worker version \(ClusterProtocol.version)")
        }
    }

    @Test("a client refuses a dispatcher of another version: required fails before opening a run, auto trains in-process and says why")
    func clientRefuses() async throws {
        let dispatcher = try await OlderDispatcher()
        defer { dispatcher.stop() }
        // A worker, so that only the version stands in the way.
        try await Transport.withDispatcher(dispatcher.address, security: ClusterSecurity()) { client in
            _ = try await client.register(.with { $0.name = "w"; $0.threads = 1; $0.protocolVersion = ClusterProtocol.version },
                                          options: Transport.callOptions(timeout: .seconds(10)))
        }
        let corpus = InMemoryCorpus((0..<100).map { SparseDocument(uncheckedTermIDs: [Int32($0 % 7)], weights: [1]) }, termCount: 7)
        let computation = WeightSum(termBound: 7, scale: 1)
        let required = ClusterExecutor(execution: .distributed, dispatcher: dispatcher.address, local: InProcessExecutor(threads: 1),
                                       logger: LogCapture().logger, registry: WeightSum.registry)
        await #expect {
            _ = try await required.run(computation, over: corpus, chunkSize: 10)
        } throws: { error in
            "\(error)".contains("distributed mode: the dispatcher at \(dispatcher.address) \(Self.expected), this program version \(ClusterProtocol.version): run the same Latent release")
        }
        let log = LogCapture()
        let automatic = ClusterExecutor(execution: .automatic, dispatcher: dispatcher.address, local: InProcessExecutor(threads: 1),
                                        logger: log.logger, registry: WeightSum.registry)
        let totals = try await automatic.run(computation, over: corpus, chunkSize: 10)
        #expect(totals?.documents == 100)
        #expect(log.text.contains("\(Self.expected), this program version \(ClusterProtocol.version)") && log.text.contains("training in-process"),
                "\(log.text)")
        #expect(!dispatcher.log.text.contains("opened"), "\(dispatcher.log.text)")
    }
}
