import Foundation
import TestSupport
import Testing

/// The tests' own way of running a command (`runProcess`): children start as from a shell,
/// a hung child fails its test instead of stalling the run, and nothing is left behind.
@Suite("running child processes", .serialized)
struct ProcessRunnerTests {
    @Test("a child starts with no signal blocked and SIGTERM at its default action, whatever thread starts it")
    func signals() async throws {
        // Test bodies run on threads that block nearly every signal; the child must not inherit that.
        var blocked = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &blocked)
        let threadBlocksTerm = sigismember(&blocked, SIGTERM) == 1
        let shown = try runProcess("/bin/sh", ["-c", "grep SigBlk /proc/self/status"])
        try #require(shown.status == 0, "\(shown.error)")
        let child = shown.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(child == "SigBlk:\t0000000000000000", "the child inherited a signal mask: \(child) (this thread blocks SIGTERM: \(threadBlocksTerm))")
        // A child told to die by SIGTERM dies of it (status 128 + 15, as a shell reports it).
        let terminated = try runProcess("/bin/sh", ["-c", "kill -TERM $$; sleep 5"])
        #expect(terminated.status == 128 + SIGTERM)
        // A long-running child (ChildProcess) started from this thread: the same.
        let watched = try ChildProcess("sh", "/bin/sh", ["-c", "grep SigBlk /proc/self/status"])
        #expect(watched.waitForExit(timeout: 30) == 0)
        #expect(watched.output.contains("SigBlk:\t0000000000000000"), "\(watched.output)")
        var after = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &after)
        #expect((sigismember(&after, SIGTERM) == 1) == threadBlocksTerm, "the thread's own mask is restored")
    }

    @Test("both streams are read as they come: 1 MB on each does not block the child")
    func chatty() throws {
        let result = try runProcess("/bin/sh", ["-c", "head -c 1000000 /dev/zero | tr '\\0' o; head -c 1000000 /dev/zero | tr '\\0' e >&2; echo end"])
        #expect(result.status == 0)
        #expect(result.output.count == 1_000_004 && result.output.hasSuffix("end\n"))
        #expect(result.error.count == 1_000_000 && result.error.allSatisfy { $0 == "e" })
    }

    @Test("a descendant left running cannot hold the pipes open: it is killed when the child exits")
    func leftBehind() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try runProcess("/bin/sh", ["-c", "sleep 300 & echo $!"], timeLimit: .seconds(120))
        #expect(result.status == 0)
        #expect(clock.now - start < .seconds(60), "waited for the descendant")
        let descendant = try #require(Int32(result.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        // The pipes closed, so the descendant is gone, a zombie or still in its exit: never
        // again asleep in its 300 s (or stopped), as it would be had nobody killed it.
        let state = (try? String(contentsOfFile: "/proc/\(descendant)/stat", encoding: .utf8)) ?? ""
        #expect(!state.contains(") S ") && !state.contains(") T "), "the descendant \(descendant) still runs: \(state)")
    }

    @Test("past its time limit a child and its descendants are killed and the test hears why")
    func timeLimit() throws {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try runProcess("/bin/sh", ["-c", "echo started; sleep 300 & sleep 300"], timeLimit: .seconds(1))
            Issue.record("no ProcessTimeout")
        } catch let timeout as ProcessTimeout {
            #expect(timeout.output == "started\n")
            #expect(timeout.description.contains("was still running after"))
        }
        #expect(clock.now - start < .seconds(60))
    }

    @Test("a watched child: its lines as they come, its exit code or signal, an end without the awaited line reported at once")
    func watchedChild() throws {
        let child = try ChildProcess("sh", "/bin/sh", ["-c", "echo ready; echo to-stderr >&2; exec sleep 300"])
        defer { child.stop() }
        try child.waitFor("ready")
        try child.waitFor("to-stderr")
        #expect(child.isRunning)
        child.kill(SIGTERM)
        #expect(child.waitForExit(timeout: 30) == SIGTERM)
        #expect(!child.isRunning)

        let exits = try ChildProcess("sh", "/bin/sh", ["-c", "printf 'last words'; exit 3"])
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: ChildProcessError.self) { try exits.waitFor("never printed", timeout: 120) }
        #expect(clock.now - start < .seconds(60), "waited for the time limit, not for the end of the process")
        #expect(exits.waitForExit(timeout: 30) == 3)
        #expect(exits.output == "last words", "what came just before the exit is kept: \(exits.output)")
    }

    @Test("a watched child's output is decoded whole when a UTF-8 sequence is split between two reads")
    func splitSequence() throws {
        // "é" is C3 A9, "€" E2 82 AC, "𝄞" F0 9D 84 9E: every cut point of each.
        let bytes: [UInt8] = [0x61, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9D, 0x84, 0x9E]
        #expect(ChildProcess.completeUTF8Prefix(bytes) == bytes.count)
        let cuts = (0...bytes.count).map { ChildProcess.completeUTF8Prefix(Array(bytes[..<$0])) }
        #expect(cuts == [0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10])
        #expect(ChildProcess.completeUTF8Prefix([0x80, 0x80]) == 2, "stray continuation bytes are passed on (decoded as U+FFFD)")
        // A child that writes "é" and "€" cut in parts, a write each.
        let child = try ChildProcess("sh", "/bin/sh", ["-c", "printf 'x\\303'; printf '\\251 \\342\\202'; printf '\\254\\n'"])
        defer { child.stop() }
        #expect(child.waitForExit(timeout: 30) == 0)
        #expect(child.output == "xé €\n", "\(Array(child.output.utf8))")
    }

    @Test("200 watched children stopped while they still print: no crash, no child left")
    func manyStopped() throws {
        for round in 0..<200 {
            let child = try ChildProcess("sh", "/bin/sh", ["-c", "echo line \(round); while :; do echo more; echo more >&2; done"])
            try child.waitFor("line \(round)")
            child.stop()
            #expect(!child.isRunning)
            #expect(kill(child.processIdentifier, 0) == -1, "child \(round) still exists after stop")
        }
    }
}
