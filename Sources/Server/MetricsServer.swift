import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// One page over HTTP, `GET /metrics` in Prometheus's text format, for a process whose own
/// protocol is not HTTP (`latent dispatcher --metrics HOST:PORT`). With a token, the page
/// needs `Authorization: Bearer TOKEN` (Prometheus's `bearer_token`); connections are
/// capped and closed when idle, as the query server's.
public struct MetricsServer: Sendable {
    public let host: String
    public let port: Int
    public let token: String?
    let logger: Logger

    /// - Throws: `QueryError` beyond loopback without a token unless `insecure`, or with a
    ///   token unless `insecurePlaintextToken` (the page is plain HTTP, the token in clear).
    public init(host: String, port: Int, token: String?, insecure: Bool, insecurePlaintextToken: Bool, logger: Logger) throws {
        if !QueryServer.isLoopback(host) {
            if token == nil && !insecure {
                throw QueryError(.badRequest, "--metrics \(host):\(port): beyond loopback the metrics page needs the cluster token, or --insecure on a trusted network")
            }
            if token != nil && !insecurePlaintextToken {
                throw QueryError(.badRequest, "--metrics \(host):\(port): the metrics page is plain HTTP and its token would travel in clear beyond loopback; listen on loopback, or pass --insecure-plaintext-token on a trusted network")
            }
        }
        self.host = host
        self.port = port
        self.token = token
        self.logger = logger
    }

    /// Serves `text()` at `/metrics` until the task is cancelled; `started` hears the address
    /// bound (port 0 picks a free one).
    public func run(text: @escaping @Sendable () async -> String, started: (@Sendable (String) -> Void)? = nil) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: Guard(token: token, metrics: ServerMetrics(), logger: logger))
        router.get("/metrics") { _, _ in QueryServer.response(.ok, await text(), type: "text/plain; version=0.0.4") }
        let (host, port) = (self.host, self.port)
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(60))),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "latent",
                                                    availableConnectionsDelegate: .maximum(64, logger: logger)),
            onServerRunning: { channel in
                started?(channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)")
            },
            logger: logger)
        // No signal handling of its own: the process it belongs to decides how it ends.
        try await app.runService(gracefulShutdownSignals: [])
    }
}
