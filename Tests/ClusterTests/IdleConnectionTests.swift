import Foundation
import Latent
import LatentCluster
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Connections that never say anything (issue 15, must-show 1).
@Suite("idle connections", .serialized, .timeLimit(.minutes(5)))
struct IdleConnectionTests {
    /// Opens `count` TCP connections to 127.0.0.1:`port` that send nothing; their descriptors.
    static func idleConnections(_ count: Int, port: Int, host: String = "127.0.0.1") throws -> [Int32] {
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
            address.sin_addr.s_addr = inet_addr(host)
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

    /// Seconds until each of `descriptors` is closed by the other end (nil: still open after
    /// `timeout` seconds), reading and dropping whatever arrives.
    static func closingTimes(_ descriptors: [Int32], timeout: Double) -> [Double?] {
        let started = Date()
        var closed = [Double?](repeating: nil, count: descriptors.count)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while closed.contains(where: { $0 == nil }), Date().timeIntervalSince(started) < timeout {
            var polls = descriptors.enumerated().filter { closed[$0.offset] == nil }
                .map { pollfd(fd: $0.element, events: Int16(POLLIN), revents: 0) }
            let indices = descriptors.indices.filter { closed[$0] == nil }
            guard poll(&polls, nfds_t(polls.count), 500) > 0 else { continue }
            for (slot, entry) in polls.enumerated() where entry.revents != 0 {
                if read(entry.fd, &buffer, buffer.count) <= 0 { closed[indices[slot]] = Date().timeIntervalSince(started) }
            }
        }
        return closed
    }

    @Test("past --max-connections a connection is closed as soon as it is accepted, logged once; the dispatcher answers once they are gone")
    func connectionCap() throws {
        let cluster = TestCluster()
        defer { cluster.stop() }
        let dispatcher = try cluster.startDispatcher(arguments: ["--max-connections", "10"])
        var raw = try Self.idleConnections(15, port: cluster.port)
        defer { for fd in raw { close(fd) } }
        let times = Self.closingTimes(raw, timeout: 3)
        let closed = times.compactMap { $0 }
        #expect(closed.count == 5 && closed.allSatisfy { $0 < 2 }, "\(times)")
        try dispatcher.waitFor("holds 10 connections, its limit (--max-connections)")
        #expect(dispatcher.output.components(separatedBy: "refused a connection").count - 1 == 1, "\(dispatcher.output)")
        // The ten held connections closed by this end free their places: status answers.
        for fd in raw { close(fd) }
        raw = []
        let deadline = Date().addingTimeInterval(10)
        var status = try runProcess(TestCluster.binary, ["status", "--dispatcher", cluster.address])
        while status.status != 0, Date() < deadline {
            status = try runProcess(TestCluster.binary, ["status", "--dispatcher", cluster.address])
        }
        #expect(status.status == 0, "\(status.error)")
        print("connections past the cap closed after \(closed.max() ?? 0) s")
    }

    @Test("a connection that sends nothing is closed after the silence limit (20 s by default, 5 s here); a limit no longer than the clients' ping interval is refused")
    func silence() async throws {
        #expect(Dispatcher.Options().silenceLimit == .seconds(20))
        var short = Dispatcher.Options(listen: ClusterAddress(host: "127.0.0.1", port: 0))
        short.silenceLimit = .seconds(4)
        #expect { try Dispatcher(options: short, registry: ComputationRegistry(), logger: LogCapture().logger) } throws: {
            "\($0)".contains("the silence limit (4.0 seconds) must be longer than the interval at which clients and workers ping (4.0 seconds)")
        }

        let cluster = InProcessCluster(registry: ComputationRegistry())
        defer { cluster.stop() }
        let address = try await cluster.startDispatcher { $0.silenceLimit = .seconds(5) }
        let raw = try Self.idleConnections(3, port: address.port)
        defer { for fd in raw { close(fd) } }
        let times = Self.closingTimes(raw, timeout: 15)
        #expect(times.allSatisfy { $0.map { $0 >= 4.9 && $0 < 9 } ?? false }, "\(times)")
        print("silent connections closed after \(times.compactMap { $0 }.min() ?? 0) to \(times.compactMap { $0 }.max() ?? 0) s")
    }
}
