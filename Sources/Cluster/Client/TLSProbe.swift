import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Why a TLS connection to a dispatcher fails, said the way a person fixes it: which
/// certificate the dispatcher showed (its names, its serial number) and what was wrong with
/// it (not signed by the CA given, not for the name or address dialled, expired), or that
/// the CA file cannot be read. gRPC reports all of these as a connection closed before the
/// HTTP/2 preface.
enum TLSProbe {
    /// The reason a handshake with `address`, trusting `security`'s CA, fails; nil when it
    /// succeeds, or when nothing accepts a connection there at all.
    static func diagnose(_ address: ClusterAddress, security: ClusterSecurity, timeout: TimeAmount = .seconds(3)) async -> String? {
        guard let rootsPath = security.trustRootsPath else { return nil }
        let roots: [NIOSSLCertificate]
        do {
            roots = try NIOSSLCertificate.fromPEMFile(rootsPath)
        } catch {
            return "cannot read the CA certificate \(rootsPath) (--tls-ca): \(error)"
        }
        var verifying = TLSConfiguration.makeClientConfiguration()
        verifying.trustRoots = .certificates(roots)
        if let certificate = security.certificatePath, let key = security.privateKeyPath {
            verifying.certificateChain = (try? NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }) ?? []
            verifying.privateKey = (try? NIOSSLPrivateKey(file: key, format: .pem)).map { .privateKey($0) }
        }
        guard case .failure(let failure) = await handshake(address, verifying, timeout: timeout),
              !(failure is NotConnected) else { return nil }
        // The certificate itself, fetched without checking it, to name it.
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.certificateVerification = .none
        let shown: String
        if case .success(let certificate?) = await handshake(address, trusting, timeout: timeout) {
            shown = "the dispatcher's certificate \(describe(certificate))"
        } else {
            shown = "the dispatcher's certificate"
        }
        let reason = "\(failure)"
        if let extra = failure as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "\(shown) is not for \(address.host), the address dialled: give --dispatcher a name or address the certificate lists"
        }
        if reason.contains("CERTIFICATE_VERIFY_FAILED") || reason.contains("certificate verify failed") {
            return "\(shown) does not verify against the CA in \(rootsPath) (--tls-ca): not signed by it, or expired (\(reason))"
        }
        return "the TLS handshake with \(address) failed: \(reason) (\(shown))"
    }

    /// "(CN=...; for NAME, ...; serial ...)", from the fields NIOSSL's description lists
    /// ("<NIOSSLCertificate;serial_number=...;common_name=...;alternative_names=...>").
    static func describe(_ certificate: NIOSSLCertificate) -> String {
        var fields: [String: String] = [:]
        for field in certificate.description.trimmingCharacters(in: CharacterSet(charactersIn: "<>")).split(separator: ";") {
            let pair = field.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { fields[pair[0]] = pair[1] }
        }
        var parts: [String] = []
        if let name = fields["common_name"] { parts.append("CN=\(sanitized(name, limit: 200))") }
        if let names = fields["alternative_names"] {
            parts.append("for " + names.split(separator: ",").map { sanitized(String($0), limit: 200) }.sorted().joined(separator: ", "))
        }
        if let serial = fields["serial_number"] { parts.append("serial \(sanitized(serial, limit: 80))") }
        return "(" + parts.joined(separator: "; ") + ")"
    }

    /// The connection itself failed: not a TLS matter.
    private struct NotConnected: Error {}

    /// One handshake: the server's certificate, or why it failed (`NotConnected` when no
    /// connection was made).
    private static func handshake(_ address: ClusterAddress, _ configuration: TLSConfiguration,
                                  timeout: TimeAmount) async -> Result<NIOSSLCertificate?, any Error> {
        do {
            let context = try NIOSSLContext(configuration: configuration)
            let isAddress = address.isIPv6 || address.host.first?.isNumber == true
            let hostname = isAddress ? nil : address.host
            let connected = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: hostname))
                        try channel.pipeline.syncOperations.addHandler(HandshakeWaiter())
                    }
                }
                .connect(host: address.host, port: address.port).get()
            guard let channel = connected else { return .failure(NotConnected()) }
            defer { channel.close(promise: nil) }
            let waiter = try await channel.pipeline.handler(type: HandshakeWaiter.self).get()
            try await waiter.done.futureResult.get()
            return .success(try await channel.nioSSL_peerCertificate().get())
        } catch {
            return .failure(error)
        }
    }
}

/// Succeeds when the TLS handshake completes, fails with the first error or a close.
private final class HandshakeWaiter: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    var done: EventLoopPromise<Void>!

    func handlerAdded(context: ChannelHandlerContext) { done = context.eventLoop.makePromise() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted? = event as? TLSUserEvent { done.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { done.fail(error) }

    func channelInactive(context: ChannelHandlerContext) {
        done.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    /// A channel that never connected is torn down without becoming inactive: the promise
    /// must not be left unfulfilled (a later completion of a fulfilled promise is ignored).
    func handlerRemoved(context: ChannelHandlerContext) { done.fail(ChannelError.ioOnClosedChannel) }
}
