import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What a finished child process printed and how it ended.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let output: String
    public let error: String
}

/// A child that was still running when its time limit passed; it and its descendants were
/// killed. Carries what it had printed.
public struct ProcessTimeout: Error, CustomStringConvertible {
    public let command: String
    public let limit: Duration
    public let output: String
    public let error: String
    public var description: String {
        "\(command) was still running after \(limit) and was killed with its descendants\nstdout:\n\(output.suffix(4000))\nstderr:\n\(error.suffix(4000))"
    }
}

/// Runs `executable` with `arguments` to completion and returns its status and both
/// streams.
///
/// The child starts as a shell would start it, whatever thread the test runs on: signals
/// unblocked and at their default actions (a Dispatch or Swift concurrency thread blocks
/// nearly all of them, and a child inherits its parent thread's mask: a Python child then
/// ignores SIGTERM, and multiprocessing's `Pool.terminate`, which relies on it, can wait for
/// its workers forever), stdin from /dev/null, in a process group of its own. When the child
/// exits, that group is killed, so a descendant left behind cannot hold the pipes open; when
/// `timeLimit` passes first, the child and its descendants are killed and `ProcessTimeout`
/// is thrown, so a hung child fails its test instead of stalling the whole run. Both pipes
/// are drained as output arrives, so a chatty child never blocks on a full pipe.
/// `environment`, when given, is the child's whole environment instead of this process's.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       timeLimit: Duration = .seconds(900)) throws -> ProcessResult {
    let command = ([executable] + arguments).joined(separator: " ")
    let (pid, outRead, errRead) = try spawnWithPipes(executable, arguments, environment: environment)
    defer { close(outRead); close(errRead) }

    // The child's exit, as an event: a thread waits for it, then kills what it left behind.
    let exited = DispatchSemaphore(value: 0)
    let status = Mutex<Int32?>(nil)
    let child = pid
    Thread.detachNewThread {
        var raw: Int32 = 0
        while waitpid(child, &raw, 0) == -1 && errno == EINTR {}
        kill(-child, SIGKILL)
        status.withLock { $0 = raw }
        exited.signal()
    }

    let deadline = ContinuousClock.now + timeLimit
    func millisecondsLeft() -> Int { max(0, Int((deadline - ContinuousClock.now) / .milliseconds(1))) }
    var timedOut = false
    var output: [UInt8] = [], error: [UInt8] = []
    var open = [true, true]
    var buffer = [UInt8](repeating: 0, count: 65536)
    while open[0] || open[1] {
        var fds = [pollfd(fd: open[0] ? outRead : -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: open[1] ? errRead : -1, events: Int16(POLLIN), revents: 0)]
        let ready = poll(&fds, 2, timedOut ? 10_000 : Int32(clamping: millisecondsLeft()))
        if ready == -1 && errno == EINTR { continue }
        if ready == 0 {
            if timedOut { break }  // killed 10 s ago, yet something outside the group holds a pipe
            // The time limit passed: kill the group; the pipes then close.
            kill(-pid, SIGKILL)
            timedOut = true
            continue
        }
        for (index, fd) in [outRead, errRead].enumerated() where open[index] && fds[index].revents != 0 {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 {
                if index == 0 { output += buffer[0..<count] } else { error += buffer[0..<count] }
            } else if count == 0 || errno != EINTR {
                open[index] = false
            }
        }
    }
    // Both pipes are closed; the child may still be running (it closed them itself).
    if exited.wait(timeout: .now() + .milliseconds(millisecondsLeft())) == .timedOut {
        kill(-pid, SIGKILL)
        timedOut = true
        exited.wait()
    }
    let out = String(decoding: output, as: UTF8.self), err = String(decoding: error, as: UTF8.self)
    if timedOut { throw ProcessTimeout(command: command, limit: timeLimit, output: out, error: err) }
    let raw = status.withLock { $0 } ?? 0
    // Exited: its exit code; killed by a signal: 128 + the signal, as a shell reports it.
    let code = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
    return ProcessResult(status: code, output: out, error: err)
}

/// Starts `executable` (a path; no search of PATH) as a shell would (`ShellSpawnAttributes`),
/// stdin from /dev/null, stdout and stderr into pipes whose read ends are returned, for the
/// caller to close. `environment`, when given, is the child's whole environment.
func spawnWithPipes(_ executable: String, _ arguments: [String], environment: [String: String]?,
                    ownProcessGroup: Bool = true) throws -> (pid: pid_t, stdout: Int32, stderr: Int32) {
    var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
    guard pipe(&outPipe) == 0 else { throw ChildProcessError("pipe: \(String(cString: strerror(errno)))") }
    guard pipe(&errPipe) == 0 else {
        close(outPipe[0]); close(outPipe[1])
        throw ChildProcessError("pipe: \(String(cString: strerror(errno)))")
    }
    // Only the child's stdout and stderr (dup2'd) are inherited, not these ends.
    for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    let attributes = ShellSpawnAttributes(ownProcessGroup: ownProcessGroup)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
    defer { for pointer in envp ?? [] { free(pointer) } }
    var pid: pid_t = 0
    let spawned = envp.map { posix_spawn(&pid, executable, &actions, &attributes.value, argv, $0) }
        ?? posix_spawn(&pid, executable, &actions, &attributes.value, argv, environ)
    close(outPipe[1])
    close(errPipe[1])
    guard spawned == 0 else {
        close(outPipe[0]); close(errPipe[0])
        throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(spawned)))")
    }
    return (pid, outPipe[0], errPipe[0])
}

/// posix_spawn attributes that start a child as a shell would, whatever thread spawns it:
/// no signal blocked, every signal at its default action, and by default a process group of
/// its own (so the child and everything it starts can be killed together by `kill(-pid, ...)`).
/// The threads tests run on (Dispatch's, Swift concurrency's) block nearly every signal, and
/// a child inherits the mask of the thread that starts it.
public final class ShellSpawnAttributes {
    public var value = posix_spawnattr_t()

    /// `ownProcessGroup: false` keeps the child in the tests' group, so that an interrupt from
    /// the terminal (^C on `make test`) ends it with the tests.
    public init(ownProcessGroup: Bool = true) {
        posix_spawnattr_init(&value)
        let group = ownProcessGroup ? POSIX_SPAWN_SETPGROUP : 0
        posix_spawnattr_setflags(&value, Int16(group | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&value, 0)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&value, &unblocked)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&value, &defaults)
    }

    deinit { posix_spawnattr_destroy(&value) }
}
