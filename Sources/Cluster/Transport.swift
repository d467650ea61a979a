import Foundation
import Logging
import Synchronization
import GRPCCore
import GRPCNIOTransportHTTP2

#if canImport(Glibc)
import Glibc
#endif

// How the cluster's processes reach each other: gRPC over HTTP/2 (NIO), plaintext or TLS,
// a token on every call, and large payloads cut into blocks.

typealias DispatcherClient = Latent_Cluster_V1_Dispatcher.Client<HTTP2ClientTransport.Posix>

enum Transport {
    /// The dispatcher's server transport on `address`.
    static func server(_ address: ClusterAddress, security: ClusterSecurity, limits: ConnectionLimits? = nil,
                       logger: Logger? = nil) throws -> HTTP2ServerTransport.Posix {
        try security.check()
        let socket: GRPCNIOTransportCore.SocketAddress = address.isIPv6
            ? .ipv6(host: address.host, port: address.port)
            : .ipv4(host: address.host == "localhost" ? "127.0.0.1" : address.host, port: address.port)
        var transportSecurity = HTTP2ServerTransport.Posix.TransportSecurity.plaintext
        if let certificate = security.certificatePath, let key = security.privateKeyPath {
            let chain: [TLSConfig.CertificateSource] = [.file(path: certificate, format: .pem)]
            let privateKey = TLSConfig.PrivateKeySource.file(path: key, format: .pem)
            if let roots = security.trustRootsPath {
                transportSecurity = .mTLS(certificateChain: chain, privateKey: privateKey) { config in
                    config.trustRoots = .certificates([.file(path: roots, format: .pem)])
                    config.clientCertificateVerification = .noHostnameVerification
                }
            } else {
                transportSecurity = .tls(certificateChain: chain, privateKey: privateKey)
            }
        }
        let config = HTTP2ServerTransport.Posix.Config.defaults { config in
            config.rpc.maxRequestPayloadSize = ClusterLimits.maxMessageSize
            // Large windows and frames: with the defaults (64 KiB, 16 KiB) uploads of partial
            // states crawl at ~80 MB/s even on loopback.
            config.http2.targetWindowSize = ClusterLimits.windowSize
            config.http2.maxFrameSize = ClusterLimits.frameSize
            // Clients ping every few seconds to notice a dead dispatcher; allow it.
            config.connection.keepalive.clientBehavior.allowWithoutCalls = true
            config.connection.keepalive.clientBehavior.minPingIntervalWithoutCalls = .seconds(1)
            // The dispatcher pings a peer it has not heard from for 5 s, and closes the
            // connection 4 s later without an answer: a client or worker cut off by a
            // partition loses its run or its leases within 9 s.
            config.connection.keepalive.time = .seconds(5)
            config.connection.keepalive.timeout = .seconds(4)
            // After its GOAWAY, a connection has 5 s to finish its calls. Without a limit, a
            // peer that never spoke HTTP/2 (or stopped answering) kept its descriptor for ever.
            config.connection.maxGraceTime = .seconds(5)
            if let limits, let logger {
                config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in limits.admit(channel, logger: logger) }
            }
        }
        return HTTP2ServerTransport.Posix(address: socket, transportSecurity: transportSecurity, config: config)
    }

    /// How often clients and workers ping the dispatcher (a dispatcher closes connections
    /// silent for longer than its silence limit, which must exceed this).
    static let clientPingInterval = Duration.seconds(4)

    /// A client transport to the dispatcher at `address`. Keepalive pings every 4 s with a
    /// 3 s timeout notice a dispatcher that stopped answering (a partition, a frozen host)
    /// within 7 s even when the connection is not closed; reconnection backs off to at most
    /// 1 s.
    ///
    /// The timeout must be shorter than the interval: grpc-swift-nio-transport's client pings
    /// on a repeating timer and restarts the timeout at each ping, so a timeout as long as
    /// the interval or longer never expires (the partition tests saw connections to a frozen
    /// dispatcher stay up indefinitely with 2 s and 3 s).
    static func client(_ address: ClusterAddress, security: ClusterSecurity) throws -> HTTP2ClientTransport.Posix {
        try security.check()
        let target: any ResolvableTarget = address.isIPv6
            ? .ipv6(address: address.host, port: address.port)
            : (address.host.first?.isNumber == true ? .ipv4(address: address.host, port: address.port)
                                                    : .dns(host: address.host, port: address.port))
        var transportSecurity = HTTP2ClientTransport.Posix.TransportSecurity.plaintext
        if let roots = security.trustRootsPath {
            transportSecurity = .tls { config in
                config.trustRoots = .certificates([.file(path: roots, format: .pem)])
                config.serverCertificateVerification = .fullVerification
                if let certificate = security.certificatePath, let key = security.privateKeyPath {
                    config.certificateChain = [.file(path: certificate, format: .pem)]
                    config.privateKey = .file(path: key, format: .pem)
                }
            }
        }
        let config = HTTP2ClientTransport.Posix.Config.defaults { config in
            config.connection.keepalive = .init(time: clientPingInterval, timeout: .seconds(3), allowWithoutCalls: true)
            config.backoff.initial = .milliseconds(100)
            config.backoff.max = .seconds(1)
            config.backoff.multiplier = 2
            config.connection.maxIdleTime = nil
            config.http2.targetWindowSize = ClusterLimits.windowSize
            config.http2.maxFrameSize = ClusterLimits.frameSize
        }
        return try HTTP2ClientTransport.Posix(target: target, transportSecurity: transportSecurity, config: config)
    }

    /// A connection to the dispatcher for the duration of `body`, the token on every call.
    static func withDispatcher<Result: Sendable>(
        _ address: ClusterAddress, security: ClusterSecurity, _ body: (DispatcherClient) async throws -> Result
    ) async throws -> Result {
        let transport = try client(address, security: security)
        let interceptors: [any ClientInterceptor] = security.token.map { [TokenSender(token: $0)] } ?? []
        return try await withGRPCClient(transport: transport, interceptors: interceptors) { grpc in
            try await body(DispatcherClient(wrapping: grpc))
        }
    }

    /// Whether a TCP connection to `address` is accepted within `timeout` seconds: tells "a
    /// server is there but does not speak our protocol" from "nothing listens".
    static func acceptsConnections(_ address: ClusterAddress, timeout: Double = 0.3) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address.host, String(address.port), &hints, &results) == 0, let first = results else { return false }
        defer { freeaddrinfo(results) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            defer { entry = info.pointee.ai_next }
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return true }
            guard errno == EINPROGRESS else { continue }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { continue }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 && failure == 0 { return true }
        }
        return false
    }

    /// Options of every call: the message limit on what is sent and received, and `timeout`.
    /// A timeout costs memory for its whole length at both ends, however soon the call ends:
    /// it is a `Task.sleep` (gRPC's deadline), and a cancelled sleep is freed only at its
    /// deadline (Swift's timers on Linux), about a kilobyte each. So calls made once a stage
    /// or a job have no timeout (a lost run or a lost dispatcher ends them) or a short one.
    static func callOptions(timeout: Duration? = nil) -> CallOptions {
        var options = CallOptions.defaults
        options.maxRequestMessageBytes = ClusterLimits.maxMessageSize
        options.maxResponseMessageBytes = ClusterLimits.maxMessageSize
        options.timeout = timeout
        options.waitForReady = false
        return options
    }
}

/// Adds the cluster token to every call a client makes.
struct TokenSender: ClientInterceptor {
    let token: String

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.addString("Bearer \(token)", forKey: "authorization")
        return try await next(request, context)
    }
}

/// Rejects every call whose token is not the cluster's, comparing in constant time.
final class TokenCheck: ServerInterceptor {
    let expected: [UInt8]
    let logger: Logger?
    let refusals = RefusalLog()

    init(token: String, logger: Logger? = nil) {
        expected = Array("Bearer \(token)".utf8)
        self.logger = logger
    }

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let presented = request.metadata[stringValues: "authorization"].first(where: { _ in true }).map { Array($0.utf8) }
        guard let presented, Self.constantTimeEqual(presented, expected) else {
            if let logger {
                refusals.note(logger, "refused \(presented == nil ? "a call without a token" : "a call with a wrong token") from \(sanitized(context.remotePeer)) (\(sanitized(context.descriptor.fullyQualifiedMethod, limit: 80)))")
            }
            throw RPCError(code: .unauthenticated, message: "wrong or missing cluster token (set --token or LATENT_CLUSTER_TOKEN)")
        }
        return try await next(request, context)
    }

    /// Equal bytes, in time that depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}

extension Transport {
    /// Runs a client-streaming call (`call` passes on its request producer and its answer
    /// handler) whose request writes nothing once the server has answered.
    ///
    /// A server may answer before the request ends: the dispatcher refuses a chunk, a stage or
    /// a result at its header. gRPC closes the stream as soon as the answer's handler returns,
    /// and a message still on its way from the writer then meets a closed stream, a state
    /// grpc-swift-nio-transport treats as unreachable (an assertion: a crash in debug builds;
    /// in release an error nobody reads). So here the answer's handler waits until the writer
    /// has stopped, and the writer stops, quietly, before its next message once the answer
    /// has come. The wait is bounded (5 s) for a writer held by flow control that never
    /// clears.
    static func upload<Reply: Sendable>(
        _ call: (_ producer: @escaping @Sendable (RPCWriter<Latent_Cluster_V1_Part>) async throws -> Void,
                 _ onResponse: @escaping @Sendable (ClientResponse<Reply>) async throws -> Reply) async throws -> Reply,
        parts: @escaping @Sendable (RPCWriter<Latent_Cluster_V1_Part>) async throws -> Void
    ) async throws -> Reply {
        let gate = RequestGate()
        return try await call({ writer in
            guard gate.startWriting() else { return }
            defer { gate.stoppedWriting() }
            do {
                try await parts(RPCWriter(wrapping: GatedWriter(base: writer, gate: gate)))
            } catch is RequestGate.Answered {
                // The server has its answer; the rest of the request would not be read.
            }
        }, { response in
            await gate.answerArrived()
            return try response.message
        })
    }
}

/// Between the request side of one client-streaming call and the server's answer
/// (`Transport.upload`).
private final class RequestGate: Sendable {
    struct Answered: Error {}
    private struct State {
        var answered = false
        var writing = false
    }
    private let state = Mutex(State())
    private let stopped = AsyncStream<Never>.makeStream()

    /// Whether the writer may begin: false when the answer came first.
    func startWriting() -> Bool {
        state.withLock { state in
            guard !state.answered else { return false }
            state.writing = true
            return true
        }
    }

    func stoppedWriting() { stopped.continuation.finish() }

    var isAnswered: Bool { state.withLock { $0.answered } }

    /// Marks the answer as come and returns once the writer has stopped (at most 5 s later).
    func answerArrived() async {
        let writing = state.withLock { state in
            state.answered = true
            return state.writing
        }
        guard writing else { return }
        await withTaskGroup(of: Void.self) { [stopped = stopped.stream] group in
            group.addTask { for await _ in stopped {} }
            group.addTask { try? await Task.sleep(for: .seconds(5)) }
            await group.next()
            group.cancelAll()
        }
    }
}

/// A request writer that throws `RequestGate.Answered` instead of writing once the server
/// has answered.
private struct GatedWriter: RPCWriterProtocol {
    let base: RPCWriter<Latent_Cluster_V1_Part>
    let gate: RequestGate

    func write(_ element: Latent_Cluster_V1_Part) async throws {
        guard !gate.isAnswered else { throw RequestGate.Answered() }
        try await base.write(element)
    }

    func write(contentsOf elements: some Sequence<Latent_Cluster_V1_Part>) async throws {
        for element in elements { try await write(element) }
    }
}

/// Sends a payload on a stream: the header (with the size filled in), then blocks of at
/// most `ClusterLimits.blockSize` bytes.
func sendPayload(_ payload: [UInt8], header: Latent_Cluster_V1_PayloadHeader,
                 to writer: RPCWriter<Latent_Cluster_V1_Part>) async throws {
    var header = header
    header.size = UInt64(payload.count)
    try await writer.write(.with { $0.header = header })
    for start in stride(from: 0, to: payload.count, by: ClusterLimits.blockSize) {
        let block = payload[start..<min(start + ClusterLimits.blockSize, payload.count)]
        try await writer.write(.with { $0.block = Data(block) })
    }
}

/// Receives a payload from a stream: one header, then blocks adding up to exactly the size
/// it declares (at most `limit`). `what` names the payload in errors.
///
/// `accept` sees the header before any block is buffered, and may refuse it (by throwing): a
/// payload for a run or stage that does not exist, or larger than memory allows, costs
/// nothing but its header.
func receivePayload(_ parts: some AsyncSequence<Latent_Cluster_V1_Part, any Error>, what: String,
                    limit: Int = ClusterLimits.maxPayloadSize,
                    accept: ((Latent_Cluster_V1_PayloadHeader) async throws -> Void)? = nil) async throws -> (Latent_Cluster_V1_PayloadHeader, [UInt8]) {
    var header: Latent_Cluster_V1_PayloadHeader?
    var bytes: [UInt8] = []
    for try await part in parts {
        switch part.part {
        case .header(let value)?:
            guard header == nil else { throw RPCError(code: .invalidArgument, message: "\(what): a second header") }
            guard value.size <= UInt64(limit) else {
                throw RPCError(code: .invalidArgument, message: "\(what): declared size \(value.size) bytes is over the limit of \(limit)")
            }
            try await accept?(value)
            header = value
            bytes.reserveCapacity(min(Int(value.size), 64 << 20))
        case .block(let block)?:
            guard let header else { throw RPCError(code: .invalidArgument, message: "\(what): a block before the header") }
            guard block.count <= ClusterLimits.blockSize, UInt64(bytes.count + block.count) <= header.size else {
                throw RPCError(code: .invalidArgument, message: "\(what): more bytes than the declared \(header.size), or a block over \(ClusterLimits.blockSize) bytes")
            }
            bytes.append(contentsOf: block)
        case nil:
            throw RPCError(code: .invalidArgument, message: "\(what): an empty message")
        }
    }
    guard let header else { throw RPCError(code: .invalidArgument, message: "\(what): no header") }
    guard UInt64(bytes.count) == header.size else {
        throw RPCError(code: .invalidArgument, message: "\(what): \(bytes.count) bytes arrived, \(header.size) were declared")
    }
    return (header, bytes)
}
