import Foundation
import Hummingbird
import HummingbirdCore
import LatentModels
import Logging
import NIOCore
import Synchronization

/// The query server: a `QueryService` over HTTP (Hummingbird), with the web page at `/`.
///
/// - `GET /health`, `GET /metrics` (Prometheus text), `GET /topics` (JSON), `GET /topics/view`
///   (HTML with inline SVG), `GET /documents/N` (and `/documents/N/view`, HTML), `POST /similar`,
///   `POST /project`; `GET /` the page.
/// - With a token, every request but the page needs `Authorization: Bearer TOKEN`; without
///   one the server listens on loopback only unless told otherwise (`Options.insecure`).
/// - Request bodies are limited (`Options.maxBodyBytes`), connections capped and closed when
///   idle; every refusal is a JSON error `{"error": "...", "status": 400}` and the server
///   goes on serving.
/// - SIGTERM or SIGINT: no new connections, requests in flight finish, then `run()` returns.
public struct QueryServer: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var token: String?
        public var insecure: Bool
        public var maxBodyBytes: Int
        public var maxConnections: Int
        public var idleTimeoutSeconds: Int
        /// A pause before each /similar answer, for tests that stop the server mid-request.
        public var testDelayMilliseconds = 0

        public init(host: String = "127.0.0.1", port: Int = 7960, token: String? = nil, insecure: Bool = false,
                    maxBodyBytes: Int = 1 << 20, maxConnections: Int = 512, idleTimeoutSeconds: Int = 60) {
            self.host = host
            self.port = port
            self.token = token
            self.insecure = insecure
            self.maxBodyBytes = maxBodyBytes
            self.maxConnections = maxConnections
            self.idleTimeoutSeconds = idleTimeoutSeconds
        }

        var isLoopback: Bool { QueryServer.isLoopback(host) }
    }

    /// Whether a listening host is this machine's loopback (the only place a server without
    /// a token may listen unless told otherwise).
    static func isLoopback(_ host: String) -> Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    public let service: QueryService
    public let options: Options
    let logger: Logger
    let metrics = ServerMetrics()

    /// - Throws: `QueryError` when the options are unsafe: listening beyond loopback without
    ///   a token (unless `insecure`), or a token shorter than 16 characters.
    public init(service: QueryService, options: Options, logger: Logger) throws {
        if let token = options.token {
            guard token.count >= 16, !token.contains(where: \.isWhitespace) else {
                throw QueryError(.badRequest, "the token must be at least 16 characters without spaces; use a long random one (for example `openssl rand -hex 16`)")
            }
        } else if !options.isLoopback && !options.insecure {
            throw QueryError(.badRequest, "without a token the server listens on loopback only (127.0.0.1, ::1); give a token, or allow it explicitly")
        }
        self.service = service
        self.options = options
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT; `started` hears the address actually bound (port 0
    /// picks a free one).
    public func run(started: (@Sendable (String) -> Void)? = nil) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: Guard(token: options.token, metrics: metrics, logger: logger))
        let service = self.service, metrics = self.metrics, maxBody = options.maxBodyBytes
        let delay = options.testDelayMilliseconds, logger = self.logger
        router.get("/") { _, _ in Self.response(.ok, WebPage.html, type: "text/html; charset=utf-8") }
        router.get("/health") { _, _ in Self.json(service.health()) }
        router.get("/metrics") { _, _ in Self.response(.ok, metrics.prometheus(service: service), type: "text/plain; version=0.0.4") }
        router.get("/topics") { _, _ in Self.json(try service.topicsJSON()) }
        router.get("/topics/view") { _, _ in Self.response(.ok, try service.topicsHTML(), type: "text/html; charset=utf-8") }
        router.get("/documents/:id") { _, context in Self.json(try service.document(context.parameters.get("id") ?? "")) }
        router.get("/documents/:id/view") { _, context in
            Self.response(.ok, try service.documentHTML(context.parameters.get("id") ?? ""), type: "text/html; charset=utf-8")
        }
        router.post("/similar") { request, _ in
            let body = try await Self.body(request, limit: maxBody)
            logger.debug("POST /similar: \(body.count) bytes, answering")
            if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
            return Self.json(try await onThread { try service.similar(body: body) })
        }
        router.post("/project") { request, _ in
            let body = try await Self.body(request, limit: maxBody)
            return Self.json(try await onThread { try service.project(body: body) })
        }
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(options.idleTimeoutSeconds)))),
            configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port), serverName: "latent",
                                                    availableConnectionsDelegate: .maximum(options.maxConnections, logger: logger)),
            onServerRunning: { channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? options.host):\($0.port ?? options.port)" } ?? "\(options.host):\(options.port)"
                started?(address)
            },
            logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }

    static func body(_ request: Request, limit: Int) async throws -> [UInt8] {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw QueryError(.contentTooLarge, "the request body is larger than \(limit) bytes")
        } catch is NIOTooManyBytesError {
            throw QueryError(.contentTooLarge, "the request body is larger than \(limit) bytes")
        }
    }

    static func response(_ status: HTTPResponse.Status, _ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ text: String) -> Response { response(.ok, text, type: "application/json") }
}

/// Runs `work` on a thread of its own, off the server's event loops (a search uses cores).
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// Every request: the token checked (constant time), errors turned into JSON, metrics counted.
struct Guard: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String?
    let metrics: ServerMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let path = request.uri.path
        let endpoint = ServerMetrics.endpoint(path)
        let response: Response
        do {
            if let token, path != "/" {
                let given = request.headers[.authorization] ?? ""
                guard Self.equal(given, "Bearer " + token) else {
                    metrics.refusedToken()
                    if metrics.shouldLogRefusal() {
                        logger.warning("refused a request for \(path.prefix(100)) without the right token")
                    }
                    throw QueryError(.unauthorized, given.isEmpty ? "this server needs a token: Authorization: Bearer TOKEN" : "wrong token")
                }
            }
            response = try await next(request, context)
        } catch let error as QueryError {
            response = Self.error(error)
        } catch let error as HTTPError {
            let status = QueryError.Status(rawValue: error.status.code) ?? .badRequest
            let message = error.status == .notFound ? "no such endpoint: \(request.method) \(path.prefix(100))"
                : error.body ?? error.status.reasonPhrase
            response = Self.error(QueryError(status, message))
        } catch {
            logger.error("\(request.method) \(path.prefix(100)): \(error)")
            response = Self.error(QueryError(.internalError, "internal error: \(error)"))
        }
        metrics.record(endpoint: endpoint, status: response.status.code, seconds: (ContinuousClock.now - started) / .seconds(1))
        return response
    }

    static func error(_ error: QueryError) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if error.status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: HTTPResponse.Status(code: error.status.rawValue), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: error.json)))
    }

    /// Compares in time that depends on the lengths only.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return difference == 0
    }
}

/// Request counts and latencies, for `GET /metrics`.
final class ServerMetrics: Sendable {
    static let endpoints = ["/", "/health", "/metrics", "/topics", "/topics/view", "/documents", "/similar", "/project", "other"]
    static let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct Counts {
        var requests: [String: [Int: Int]] = [:]
        var histogram: [String: [Int]] = [:]
        var sums: [String: Double] = [:]
        var refusedTokens = 0
        var lastRefusalLog: ContinuousClock.Instant?
    }

    private let counts = Mutex(Counts())

    static func endpoint(_ path: String) -> String {
        if path.hasPrefix("/documents/") { return "/documents" }
        return endpoints.contains(path) ? path : "other"
    }

    func record(endpoint: String, status: Int, seconds: Double) {
        counts.withLock { counts in
            counts.requests[endpoint, default: [:]][status, default: 0] += 1
            var bins = counts.histogram[endpoint] ?? [Int](repeating: 0, count: Self.buckets.count)
            for (i, bound) in Self.buckets.enumerated() where seconds <= bound { bins[i] += 1 }
            counts.histogram[endpoint] = bins
            counts.sums[endpoint, default: 0] += seconds
        }
    }

    func refusedToken() { counts.withLock { $0.refusedTokens += 1 } }

    /// At most one log line a minute about refused tokens.
    func shouldLogRefusal() -> Bool {
        counts.withLock { counts in
            if let last = counts.lastRefusalLog, ContinuousClock.now - last < .seconds(60) { return false }
            counts.lastRefusalLog = .now
            return true
        }
    }

    func prometheus(service: QueryService) -> String {
        counts.withLock { counts in
            var lines = [
                "# HELP latent_requests_total HTTP requests by endpoint and status.",
                "# TYPE latent_requests_total counter",
            ]
            for endpoint in counts.requests.keys.sorted() {
                for (status, count) in counts.requests[endpoint, default: [:]].sorted(by: { $0.key < $1.key }) {
                    lines.append("latent_requests_total{endpoint=\"\(endpoint)\",status=\"\(status)\"} \(count)")
                }
            }
            lines += ["# HELP latent_request_duration_seconds Time to answer a request.",
                      "# TYPE latent_request_duration_seconds histogram"]
            for endpoint in counts.histogram.keys.sorted() {
                let bins = counts.histogram[endpoint] ?? []
                let total = counts.requests[endpoint, default: [:]].values.reduce(0, +)
                for (i, bound) in Self.buckets.enumerated() {
                    lines.append("latent_request_duration_seconds_bucket{endpoint=\"\(endpoint)\",le=\"\(bound)\"} \(bins[i])")
                }
                lines.append("latent_request_duration_seconds_bucket{endpoint=\"\(endpoint)\",le=\"+Inf\"} \(total)")
                lines.append("latent_request_duration_seconds_sum{endpoint=\"\(endpoint)\"} \(counts.sums[endpoint] ?? 0)")
                lines.append("latent_request_duration_seconds_count{endpoint=\"\(endpoint)\"} \(total)")
            }
            lines += ["# HELP latent_refused_tokens_total Requests refused for a missing or wrong token.",
                      "# TYPE latent_refused_tokens_total counter", "latent_refused_tokens_total \(counts.refusedTokens)",
                      "# HELP latent_index_documents Documents the index can return.",
                      "# TYPE latent_index_documents gauge", "latent_index_documents \(service.index.documentCount)"]
            return lines.joined(separator: "\n") + "\n"
        }
    }
}
