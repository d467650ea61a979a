import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Caps on the dispatcher's TCP connections, in all and per remote address: a connection
/// past either is closed as soon as it is accepted (logged at most once a minute), so one
/// peer, or a flood of them, cannot use up the process's descriptors. Loopback peers count
/// toward the total only: they are this machine's own processes (workers, `latent status`).
///
/// And a connection that sends nothing for `silence` (`Dispatcher.Options.silenceLimit`, 20 s
/// by default) is closed: one that never spoke HTTP/2, or whose peer went away without a
/// word. Latent's clients and workers ping every 4 s (`Transport.clientPingInterval`), so
/// they are never silent that long while alive. (gRPC's own keepalive sends a GOAWAY to such
/// a peer but then waits for an answer that never comes.)
final class ConnectionLimits: Sendable {
    let total: Int
    let perPeer: Int
    let silence: TimeAmount
    private let open = Mutex<(total: Int, byPeer: [String: Int])>((0, [:]))
    let refusals = RefusalLog()
    /// Hears of each admitted connection that closes, by gRPC's name of its peer
    /// ("ipv4:HOST:PORT", as `ServerContext.remotePeer` says).
    let onClose: @Sendable (String) -> Void

    init(total: Int, perPeer: Int, silence: TimeAmount, onClose: @escaping @Sendable (String) -> Void = { _ in }) {
        self.total = max(1, total)
        self.perPeer = max(1, perPeer)
        self.silence = silence
        self.onClose = onClose
    }

    /// The default total: the descriptors the process may open, less a reserve for its
    /// files, and at most 65,536.
    static var defaultTotal: Int {
        #if canImport(Glibc)
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            return max(64, Int(min(65_536, max(256, limit.rlim_cur)) - 256))
        }
        #endif
        return 4096
    }

    /// Admits an accepted connection, or fails it (which closes it).
    func admit(_ channel: any Channel, logger: Logger) -> EventLoopFuture<Void> {
        let peer = channel.remoteAddress?.ipAddress ?? "unknown"
        let loopback = peer.hasPrefix("127.") || peer == "::1" || peer.hasPrefix("::ffff:127.")
        let admitted: String? = open.withLock { open in
            if open.total >= total { return "the dispatcher holds \(open.total) connections, its limit (--max-connections)" }
            if !loopback, open.byPeer[peer, default: 0] >= perPeer {
                return "\(peer) holds \(perPeer) connections, the limit per address (--max-connections-per-peer)"
            }
            open.total += 1
            if !loopback { open.byPeer[peer, default: 0] += 1 }
            return nil
        }
        if let refusal = admitted {
            refusals.note(logger, "refused a connection from \(sanitized(peer)): \(refusal)")
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ChannelError.inputClosed)
        }
        let name: String? = switch channel.remoteAddress {
        case .v4(let address)?: "ipv4:\(address.host):\(channel.remoteAddress?.port ?? 0)"
        case .v6(let address)?: "ipv6:[\(address.host)]:\(channel.remoteAddress?.port ?? 0)"
        default: nil
        }
        channel.closeFuture.whenComplete { [self] _ in
            if let name { onClose(name) }
            open.withLock { open in
                open.total -= 1
                if !loopback {
                    open.byPeer[peer, default: 1] -= 1
                    if open.byPeer[peer] == 0 { open.byPeer[peer] = nil }
                }
            }
        }
        let silence = self.silence
        return channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(SilenceLimit(limit: silence), position: .first)
        }
    }
}

/// Closes its connection after `limit` without a byte read.
private final class SilenceLimit: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let limit: TimeAmount
    private var lastRead = NIODeadline.now()
    private var check: RepeatedTask?

    init(limit: TimeAmount) { self.limit = limit }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let period = TimeAmount.nanoseconds(max(limit.nanoseconds / 4, 1))
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { task in
            let (handler, context) = loopBound.value
            if NIODeadline.now() - handler.lastRead > handler.limit {
                task.cancel()
                context.close(promise: nil)
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = .now()
        context.fireChannelRead(data)
    }
}
