import Foundation

/// A second network stack for a test: a network namespace joined to this one by a veth
/// pair, so that processes started in it (`command`) are another host as far as TCP can
/// tell, and the link between the two can be cut (`down`) and restored (`up`). Needs root
/// and a kernel that allows namespaces; `unavailable` says why not, where it does not.
/// `remove` (called on deinit too) deletes the namespace and the link.
public final class NetworkNamespace: @unchecked Sendable {
    public let name: String
    /// The link's end in this namespace.
    public let hostInterface: String
    /// Addresses of the two ends: this namespace's, and the namespace's.
    public let hostAddress: String
    public let address: String
    private var removed = false

    /// Creates the namespace and the link, both ends up, with a /30 of 10.213.0.0/16.
    public init() throws {
        let id = Int(ProcessInfo.processInfo.processIdentifier) % 16_000
        name = "latent-test-\(id)"
        hostInterface = "lt\(id)h"
        let peer = "lt\(id)n"
        let subnet = "10.213.\(id / 64 % 250).\((id % 64) * 4)"
        let prefix = subnet.split(separator: ".").dropLast().joined(separator: ".")
        let last = Int(subnet.split(separator: ".").last ?? "0") ?? 0
        hostAddress = "\(prefix).\(last + 1)"
        address = "\(prefix).\(last + 2)"
        // A namespace left by an earlier run that was killed.
        _ = try? Self.ip(["netns", "del", name])
        _ = try? Self.ip(["link", "del", hostInterface])
        try Self.ip(["netns", "add", name])
        do {
            try Self.ip(["link", "add", hostInterface, "type", "veth", "peer", "name", peer])
            try Self.ip(["link", "set", peer, "netns", name])
            try Self.ip(["addr", "add", "\(hostAddress)/30", "dev", hostInterface])
            try Self.ip(["link", "set", hostInterface, "up"])
            try Self.ip(["netns", "exec", name, "ip", "addr", "add", "\(address)/30", "dev", peer])
            try Self.ip(["netns", "exec", name, "ip", "link", "set", peer, "up"])
            try Self.ip(["netns", "exec", name, "ip", "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Why namespaces cannot be made here (not root, no `ip`, a kernel that refuses), or
    /// nil when they can: tried once per process.
    public static let unavailable: String? = {
        do {
            _ = try NetworkNamespace()
            return nil
        } catch {
            return "\(error)"
        }
    }()

    /// Whether namespaces can be made; when not, says so loudly, naming `tests`.
    public static func usable(by tests: String) -> Bool {
        guard let unavailable else { return true }
        print("SKIPPING \(tests): this machine refuses network namespaces (\(unavailable))")
        return false
    }

    /// The arguments that run `executable` with `arguments` inside the namespace.
    public func command(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        (Self.ipPath, ["netns", "exec", name, executable] + arguments)
    }

    /// Cuts the link: packets between the namespaces are dropped from now on.
    public func down() throws { try Self.ip(["link", "set", hostInterface, "down"]) }

    /// Restores the link.
    public func up() throws { try Self.ip(["link", "set", hostInterface, "up"]) }

    public func remove() {
        guard !removed else { return }
        removed = true
        _ = try? Self.ip(["link", "del", hostInterface])
        _ = try? Self.ip(["netns", "del", name])
    }

    static let ipPath = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }
        ?? "/usr/sbin/ip"

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: ipPath) else {
            throw ChildProcessError("no ip command (Debian's iproute2) at \(ipPath)")
        }
        let result = try runProcess(ipPath, arguments)
        guard result.status == 0 else {
            throw ChildProcessError("ip \(arguments.joined(separator: " ")) failed (status \(result.status)): \(result.error)")
        }
        return result.output
    }
}
