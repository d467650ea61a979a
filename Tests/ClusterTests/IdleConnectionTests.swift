import Foundation
import Latent
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Connections that never say anything (issue 15, must-show 1).
@Suite("idle connections", .serialized, .timeLimit(.minutes(5)))
struct IdleConnectionTests {
    /// Opens `count` TCP connections to 127.0.0.1:`port` that send nothing; their descriptors.
    static func idleConnections(_ count: Int, port: Int) throws -> [Int32] {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = max(limit.rlim_cur, min(limit.rlim_max, rlim_t(count + 512)))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        var descriptors: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { break }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            guard connected else {
                close(fd)
                break
            }
            descriptors.append(fd)
        }
        return descriptors
    }

    @Test("2,000 idle connections against a dispatcher started with a soft limit of 1,024 descriptors: a run completes correctly and status answers within a second")
    func idleConnections() throws {
        let binary = TestCluster.binary
        var hard = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &hard)
        try #require(hard.rlim_max >= 4096, "the hard limit on open files here (\(hard.rlim_max)) is too low for this test")
        let dispatcher = try ChildProcess("dispatcher", "/usr/bin/prlimit",
                                          ["--nofile=1024:\(hard.rlim_max)", binary, "dispatcher", "--listen", "127.0.0.1:0"])
        defer { dispatcher.stop() }
        let text = try dispatcher.waitFor("latent dispatcher listening on 127.0.0.1:")
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("latent dispatcher listening on 127.0.0.1:") })
        let port = try #require(Int(line.split(separator: ":").last ?? ""))
        #expect(text.contains("open files: soft limit raised from 1024 to \(hard.rlim_max)"), "\(text)")
        let address = "127.0.0.1:\(port)"

        let idle = try Self.idleConnections(2000, port: port)
        defer { for fd in idle { close(fd) } }
        #expect(idle.count == 2000, "only \(idle.count) connections were accepted")

        let worker = try ChildProcess("worker", binary, ["worker", "--dispatcher", address, "--name", "w1"])
        defer { worker.stop() }
        try dispatcher.waitFor("worker #1 registered")
        let reference = try runProcess(binary, ["example", "--documents", "3000", "--chunk-size", "500", "--distributed", "off"])
        let run = try ChildProcess("client", binary, ["example", "--documents", "3000", "--chunk-size", "500", "--distributed", "required",
                                                      "--dispatcher", address])
        defer { run.stop() }
        var slowest = 0.0
        while run.isRunning {
            let started = Date()
            let status = try runProcess(binary, ["status", "--dispatcher", address])
            slowest = max(slowest, Date().timeIntervalSince(started))
            #expect(status.status == 0 && status.output.contains("1 worker"), "\(status.error)")
        }
        #expect(run.waitForExit(timeout: 60) == 0, "\(run.output)")
        #expect(slowest < 1, "a status call took \(slowest) s")
        // The same topics as in-process: the first lines after the repeated corpus's training.
        let topics = { (text: String) in text.split(separator: "\n").filter { $0.contains("topic #") }.map { $0.split(separator: ":").dropFirst(3).joined(separator: ":") } }
        #expect(topics(run.output) == topics(reference.error + reference.output) && !topics(run.output).isEmpty,
                "\(topics(run.output)) against \(topics(reference.error + reference.output))")
        #expect(dispatcher.isRunning)
    }
}
