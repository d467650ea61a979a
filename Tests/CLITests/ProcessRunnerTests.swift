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
        // Foundation's Process started inside withSignalsUnblocked: the same.
        let fromFoundation = try withSignalsUnblocked {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "grep SigBlk /proc/self/status"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            return pipe.fileHandleForReading.readDataToEndOfFile()
        }
        #expect(String(decoding: fromFoundation, as: UTF8.self).contains("SigBlk:\t0000000000000000"))
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
}
