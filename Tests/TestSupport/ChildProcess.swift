import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A long-running child process (a dispatcher, a worker) whose output a test watches as it
/// comes: `waitFor` blocks until a line appears, woken by the reader, never by polling.
/// The process is killed when `stop` is called or the object goes away, so a failing test
/// leaves nothing running.
///
/// The child is started with posix_spawn as a shell would start it (no signal blocked, stdin
/// from /dev/null, in the tests' process group), and its two streams are read by a thread
/// each with blocking reads, its exit waited for by a third. Foundation's `Process` with a
/// `readabilityHandler` was used before: tearing down a pipe whose handler is set races
/// libdispatch's cancellation of its read source, which crashed the whole test process now
/// and then (SIGILL in `_dispatch_event_loop_drain` on the manager thread, during the test
/// after the one whose dispatcher had just been stopped; swift-corelibs-foundation #3276).
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    public let processIdentifier: Int32
    /// What the reader and waiter threads share with the test; they hold this, not the
    /// `ChildProcess`, so that dropping the last reference still kills the child.
    private let state: State

    private final class State: @unchecked Sendable {
        // Every property is guarded by `condition`.
        let condition = NSCondition()
        var text = ""
        /// The bytes of a UTF-8 sequence cut between two reads, kept until it is whole.
        var partial: [UInt8] = []
        var openStreams = 2
        /// The raw wait status, once the child has been reaped.
        var waitStatus: Int32?
    }

    /// Starts `executable` (a path; no search of PATH) with `environment` added to this
    /// process's; stdout and stderr are read into one transcript.
    public init(_ name: String, _ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        let merged = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let (pid, outRead, errRead) = try spawnWithPipes(executable, arguments, environment: merged, ownProcessGroup: false)
        let child = pid
        processIdentifier = child
        let state = State()
        self.state = state
        for fd in [outRead, errRead] {
            Thread.detachNewThread { Self.read(fd, into: state) }
        }
        Thread.detachNewThread { Self.reap(child, into: state) }
    }

    deinit { stop() }

    /// Appends what arrives on `fd` to the transcript until the end of the stream, then closes it.
    private static func read(_ fd: Int32, into state: State) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            state.condition.lock()
            if count > 0 {
                state.partial += buffer[0..<count]
                let whole = completeUTF8Prefix(state.partial)
                state.text += String(decoding: state.partial[0..<whole], as: UTF8.self)
                state.partial.removeFirst(whole)
            } else {
                state.text += String(decoding: state.partial, as: UTF8.self)
                state.partial = []
                state.openStreams -= 1
            }
            state.condition.broadcast()
            state.condition.unlock()
            if count <= 0 { break }
        }
        close(fd)
    }

    /// Waits for the child to exit, then reaps it. It is left a zombie until the status is
    /// recorded under the lock, so `kill` under the same lock never signals a reused pid.
    private static func reap(_ pid: pid_t, into state: State) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        state.condition.lock()
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
        state.waitStatus = raw
        state.condition.broadcast()
        state.condition.unlock()
    }

    /// The length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence.
    public static func completeUTF8Prefix(_ bytes: [UInt8]) -> Int {
        var start = bytes.count
        while start > 0 && bytes.count - start < 4 && bytes[start - 1] & 0xC0 == 0x80 { start -= 1 }
        guard start > 0 else { return bytes.count }
        let lead = bytes[start - 1]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return bytes.count - (start - 1) >= length ? bytes.count : start - 1
    }

    /// Everything printed so far.
    public var output: String {
        state.condition.lock()
        defer { state.condition.unlock() }
        return state.text
    }

    public var isRunning: Bool {
        state.condition.lock()
        defer { state.condition.unlock() }
        return state.waitStatus == nil
    }

    /// How a reaped child ended: its exit code, or the number of the signal that killed it.
    private static func code(_ raw: Int32) -> Int32 { raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f }

    /// Waits until the transcript holds `needle` at least `count` times; returns the
    /// transcript. Throws after `timeout` seconds, or when the process has ended and both its
    /// streams are read to their end without it.
    @discardableResult
    public func waitFor(_ needle: String, count: Int = 1, timeout: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        state.condition.lock()
        defer { state.condition.unlock() }
        while state.text.components(separatedBy: needle).count - 1 < count {
            if let raw = state.waitStatus, state.openStreams == 0 {
                throw ChildProcessError("\(name) exited (status \(Self.code(raw))) without printing '\(needle)':\n\(state.text)")
            }
            if !state.condition.wait(until: deadline), Date() >= deadline {
                throw ChildProcessError("\(name) did not print '\(needle)' x\(count) within \(timeout) s:\n\(state.text)")
            }
        }
        return state.text
    }

    /// Waits for the process to end; returns its exit code (or the number of the signal that
    /// killed it), or nil after `timeout` seconds.
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        state.condition.lock()
        defer { state.condition.unlock() }
        while state.waitStatus == nil {
            if !state.condition.wait(until: deadline), Date() >= deadline { return nil }
        }
        return state.waitStatus.map(Self.code)
    }

    /// Sends a signal (SIGKILL by default) unless the process has already ended.
    public func kill(_ signal: Int32 = SIGKILL) {
        state.condition.lock()
        defer { state.condition.unlock() }
        if state.waitStatus == nil { Glibc.kill(processIdentifier, signal) }
    }

    /// Kills the process, unless it has ended, and waits for it.
    public func stop() {
        state.condition.lock()
        defer { state.condition.unlock() }
        if state.waitStatus == nil { Glibc.kill(processIdentifier, SIGKILL) }
        while state.waitStatus == nil { state.condition.wait() }
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A TCP port on loopback that nothing listens on at the moment of the call.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ChildProcessError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw ChildProcessError("bind() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
