import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A long-running child process (a dispatcher, a worker) whose output a test watches as it
/// comes: `waitFor` blocks until a line appears, woken by the reader, never by polling.
/// The process is killed when `stop` is called or the object goes away, so a failing test
/// leaves nothing running.
public final class ChildProcess: @unchecked Sendable {
    public let name: String
    private let process = Process()
    // `text` is guarded by `condition`.
    private let condition = NSCondition()
    private var text = ""
    private var stopped = false

    /// Starts `executable`; stdout and stderr are read into one transcript.
    public init(_ name: String, _ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        for pipe in [out, err] {
            pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard let self else { return }
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    return
                }
                self.condition.lock()
                self.text += String(decoding: data, as: UTF8.self)
                self.condition.broadcast()
                self.condition.unlock()
            }
        }
        process.terminationHandler = { [weak self] _ in
            guard let self else { return }
            self.condition.lock()
            self.condition.broadcast()
            self.condition.unlock()
        }
        try withSignalsUnblocked { try process.run() }
    }

    deinit { stop() }

    /// Everything printed so far.
    public var output: String {
        condition.lock()
        defer { condition.unlock() }
        return text
    }

    public var isRunning: Bool { process.isRunning }
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Waits until the transcript holds `needle` at least `count` times; returns the
    /// transcript. Throws after `timeout` seconds or when the process ends without it.
    @discardableResult
    public func waitFor(_ needle: String, count: Int = 1, timeout: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while text.components(separatedBy: needle).count - 1 < count {
            if !process.isRunning {
                // The last output may still be in the pipe: give the reader a moment.
                if !condition.wait(until: Date().addingTimeInterval(0.5)) {
                    throw ChildProcessError("\(name) exited (status \(process.terminationStatus)) without printing '\(needle)':\n\(text)")
                }
                continue
            }
            if !condition.wait(until: deadline), Date() >= deadline {
                throw ChildProcessError("\(name) did not print '\(needle)' x\(count) within \(timeout) s:\n\(text)")
            }
        }
        return text
    }

    /// Waits for the process to end; returns its status, or nil after `timeout` seconds.
    public func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while process.isRunning {
            if !condition.wait(until: deadline), Date() >= deadline { return nil }
        }
        return process.terminationStatus
    }

    /// Sends a signal (SIGKILL by default).
    public func kill(_ signal: Int32 = SIGKILL) {
        if process.isRunning { Glibc.kill(process.processIdentifier, signal) }
    }

    /// Kills the process and waits for it.
    public func stop() {
        condition.lock()
        let already = stopped
        stopped = true
        condition.unlock()
        guard !already else { return }
        kill(SIGKILL)
        process.waitUntilExit()
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
