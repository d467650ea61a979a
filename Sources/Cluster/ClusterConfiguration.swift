import Foundation

/// Where a dispatcher listens or is found: `HOST:PORT`, with IPv6 hosts in brackets.
public struct ClusterAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// The dispatcher's default address (design §4).
    public static let defaultDispatcher = ClusterAddress(host: "127.0.0.1", port: 7950)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[IPV6]:PORT`; `field` names the source in errors.
    public init(parsing text: String, field: String) throws {
        func fail(_ why: String) -> ClusterError {
            ClusterError(.invalidConfiguration, "\(field): \(why); expected HOST:PORT, e.g. 127.0.0.1:7950, got '\(text)'")
        }
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else { throw fail("unclosed IPv6 host") }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw fail("no port") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw fail("no host") }
        guard let port = Int(portText), (0...65535).contains(port) else { throw fail("the port must be 0 to 65535") }
        self.init(host: String(host), port: port)
    }

    /// The address from `--dispatcher`, else `LATENT_DISPATCHER`, else 127.0.0.1:7950.
    public static func dispatcher(flag: String?) throws -> ClusterAddress {
        if let flag { return try ClusterAddress(parsing: flag, field: "--dispatcher") }
        if let value = ProcessInfo.processInfo.environment["LATENT_DISPATCHER"], !value.isEmpty {
            return try ClusterAddress(parsing: value, field: "LATENT_DISPATCHER")
        }
        return .defaultDispatcher
    }

    /// Loopback hosts: the only ones a dispatcher without a token may listen on.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    var isIPv6: Bool { host.contains(":") }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// The shared secret and certificates of a cluster. Every call carries the token when one
/// is set; TLS applies when certificates are given (mutual TLS when the server also has a
/// CA to check clients against).
public struct ClusterSecurity: Sendable, Equatable {
    /// The cluster token; nil for none.
    public var token: String?
    /// PEM certificate chain: the server's on a dispatcher, the client's own for mutual TLS.
    public var certificatePath: String?
    /// PEM private key of `certificatePath`.
    public var privateKeyPath: String?
    /// PEM CA: on clients and workers the roots that the dispatcher's certificate must
    /// chain to (TLS is on when it is given); on a dispatcher, the roots of client
    /// certificates, which turns on mutual TLS.
    public var trustRootsPath: String?

    public init(token: String? = nil, certificatePath: String? = nil, privateKeyPath: String? = nil,
                trustRootsPath: String? = nil) {
        self.token = token
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.trustRootsPath = trustRootsPath
    }

    /// The shortest token accepted.
    public static let minimumTokenLength = 16

    /// A token from the flag, else `LATENT_CLUSTER_TOKEN`, else none.
    public static func token(flag: String?) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let value = ProcessInfo.processInfo.environment["LATENT_CLUSTER_TOKEN"], !value.isEmpty { return value }
        return nil
    }

    func check() throws {
        if (certificatePath == nil) != (privateKeyPath == nil) {
            throw ClusterError(.invalidConfiguration, "--tls-cert and --tls-key go together: give both or neither")
        }
        for path in [certificatePath, privateKeyPath, trustRootsPath].compactMap({ $0 })
        where !FileManager.default.isReadableFile(atPath: path) {
            throw ClusterError(.invalidConfiguration, "\(path): no such readable file (TLS certificate or key)")
        }
    }
}

/// Which cluster protocol this program speaks. A dispatcher refuses a worker or a client of
/// another version, and workers and clients refuse a dispatcher of another: peers of two
/// Latents would otherwise misread each other's messages or encodings (a field one of them
/// does not know is silently dropped), and fail far from the cause.
public enum ClusterProtocol {
    /// Raised whenever latent.proto or the meaning of what crosses the wire changes (a
    /// computation's encoding included); `WireCurrencyTests` records latent.proto's digest
    /// for it and fails when the file changes without a new version. 0 is a peer from before
    /// versions were sent.
    public static let version: UInt32 = 4

    /// Why a peer whose version is `theirs` cannot work with this program, or nil when it can.
    /// `peer` names it ("the dispatcher at host:port", "worker 'name'"), `us` this program.
    static func mismatch(_ peer: String, speaks theirs: UInt32, us: String) -> String? {
        guard theirs != version else { return nil }
        let age = theirs == 0 ? " (a Latent from before protocol versions, older than this one)"
            : theirs < version ? " (an older Latent)" : " (a newer Latent)"
        return "\(peer) speaks version \(theirs) of the cluster protocol\(age), \(us) version \(version): run the same Latent release on the dispatcher, the workers and the client"
    }
}

/// Sizes and timings of the protocol.
public enum ClusterLimits {
    /// Large payloads travel in blocks of this size.
    public static let blockSize = 1 << 20
    /// Largest message either side accepts: a block plus its framing.
    public static let maxMessageSize = 4 << 20
    /// HTTP/2 flow-control window and frame size of every connection.
    static let windowSize = 32 << 20
    static let frameSize = 1 << 20
    /// Largest payload (a chunk, a computation's parameters, a partial state) accepted.
    public static let maxPayloadSize = 16 << 30

    /// The most bytes of changes a run's stages may send since its last stage sent whole
    /// (`IncrementalComputation`), for parameters of `wholeSize` bytes: past it the client
    /// sends them whole again, which bounds what a dispatcher holds and a new worker replays.
    /// A stage sent whole stalls every worker (each fetches and decodes the whole, and the
    /// client sends it before the stage's first job): for LDA, 100 topics x 50,000 terms,
    /// about half a second, against about 45 M-steps (1 thread) that a worker joining just
    /// before it would replay; so the whole goes again after four times its size in changes.
    static func changeAllowance(wholeSize: Int) -> Int { 4 * wholeSize + blockSize }

    /// Whether a stage's merged state of `size` bytes is held, by the client and by the
    /// dispatcher alike, for the next stage's change to end with (`appends_base_result`): any
    /// state a change within the allowance could end with.
    static func holdsMergedState(size: Int, wholeSize: Int) -> Bool {
        size > 0 && size <= changeAllowance(wholeSize: wholeSize)
    }
}

/// An error of the cluster layer: a misconfiguration, a dispatcher that cannot be reached
/// or went away, or a peer that broke the protocol. The message says what happened and what
/// to do; `cause`, when there is one, is the error underneath (an RPC status, an I/O error).
public struct ClusterError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Options that do not hold together (addresses, certificates, thread counts).
        public static let invalidConfiguration = Code("invalid configuration")
        /// No dispatcher answered, or it went away.
        public static let unavailable = Code("unavailable")
        /// The dispatcher refused (a wrong token, another run in progress).
        public static let refused = Code("refused")
        /// A peer sent something the protocol does not allow.
        public static let protocolViolation = Code("protocol violation")
        /// The run failed on the cluster (a job failed on a worker, a merge failed).
        public static let runFailed = Code("run failed")
    }

    public let code: Code
    public let message: String
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
