import Foundation
import Latent
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12, must-show 1: no command destroys what the user did not ask it to replace, and
/// an interrupted command leaves neither a partial output nor a temporary file.
@Suite("command outputs never destroy a user's files", .serialized, .timeLimit(.minutes(5)))
struct OutputSafetyCommandTests {
    /// A folder `sb` holding a bag-of-words corpus of the 9 titles, its vocabulary and a note.
    static func sandbox() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try dir.write("sb/t.txt", LSICommandTests.titles)
        try dir.write("sb/notes.txt", "my notes\n")
        let made = try CommandLineTests.run(["corpus", dir.file("sb/t.txt"), "--out", dir.file("sb/c")])
        try #require(made.status == 0, "\(made.error)")
        return dir
    }

    @Test("lsi --out: the input's folder, a folder with other files, a file, a model of another kind are refused; an LSI model is replaced")
    func modelFolders() throws {
        let dir = try Self.sandbox()
        try dir.write("other/a.txt", "someone's text\n")
        try dir.write("file.lsi", "a file\n")
        var result = try CommandLineTests.run(["tfidf", dir.file("sb/c.mm"), "--out", dir.file("c.tfidf.mm"),
                                               "--model", dir.file("c.tfidf")])
        try #require(result.status == 0, "\(result.error)")
        let lsi = ["lsi", dir.file("sb/c.mm"), "--vocab", dir.file("sb/c.vocab"), "--topics", "2"]
        let before = try dir.snapshot()
        let refusals: [(String, String)] = [
            ("sb", "sb: is a folder that is not a Latent model (it holds c.mm, c.mm.index, c.vocab and 2 more)"),
            ("other", "other: is a folder that is not a Latent model (it holds a.txt)"),
            ("file.lsi", "file.lsi: is a file, not a model folder"),
            ("c.tfidf", "c.tfidf: holds a model of kind 'tfidf', not 'lsi'; it was left as it is. Choose another output folder (--force replaces it)"),
            (".", "is a folder that is not a Latent model"),
        ]
        for (name, message) in refusals {
            result = try CommandLineTests.run(lsi + ["--out", dir.file(name)])
            #expect(result.status == 1 && result.error.contains(message), "\(name): \(result.error)")
        }
        // Nothing was touched, file by file, and no temporary is left.
        #expect(try dir.snapshot() == before)
        // --force does not make a folder of other files replaceable.
        for name in ["sb", "other", "file.lsi"] {
            result = try CommandLineTests.run(lsi + ["--out", dir.file(name), "--force"])
            #expect(result.status == 1, "\(name): \(result.error)")
        }
        #expect(try dir.snapshot() == before)

        // (d) An LSI model folder is replaced, and the replacement is the new model.
        result = try CommandLineTests.run(lsi + ["--out", dir.file("m.lsi")])
        try #require(result.status == 0, "\(result.error)")
        result = try CommandLineTests.run(["lsi", dir.file("sb/c.mm"), "--topics", "3", "--out", dir.file("m.lsi")])
        #expect(result.status == 0, "\(result.error)")
        #expect(try LSIModel(contentsOf: dir.file("m.lsi")).topicCount == 3)
        // (e) With --force, a model folder of another kind is replaced.
        result = try CommandLineTests.run(lsi + ["--out", dir.file("c.tfidf"), "--force"])
        #expect(result.status == 0, "\(result.error)")
        #expect(try LSIModel(contentsOf: dir.file("c.tfidf")).topicCount == 2)
        #expect(try dir.temporaries().isEmpty && dir.temporaries("sb").isEmpty)
    }

    @Test("file outputs: a foreign file, a folder or the input itself are refused; an earlier output is replaced")
    func files() throws {
        let dir = try Self.sandbox()
        try dir.write("report.tsv", "my own table\n")
        try dir.write("x.vocab", "not a vocabulary\n")
        try FileManager.default.createDirectory(atPath: dir.file("folder.mm"), withIntermediateDirectories: false)
        let before = try dir.snapshot()
        let cases: [([String], String)] = [
            (["tfidf", dir.file("sb/c.mm"), "--out", dir.file("sb/c.mm")], "is also an input of this command"),
            (["tfidf", dir.file("sb/c.mm"), "--out", dir.file("sb/notes.txt")], "unknown corpus extension"),
            (["tfidf", dir.file("sb/c.mm"), "--out", dir.file("folder.mm")], "folder.mm: is a folder"),
            (["convert", dir.file("sb/c.mm"), dir.file("sb/c.vocab")], "unknown corpus extension"),
            (["corpus", dir.file("sb/t.txt"), "--out", dir.file("x")], "x.vocab: exists and is not a vocabulary"),
        ]
        for (arguments, message) in cases {
            let result = try CommandLineTests.run(arguments)
            #expect(result.status == 1 && result.error.contains(message), "\(arguments): \(result.error)")
        }
        #expect(try dir.snapshot() == before)
        let model = try CommandLineTests.run(["lsi", dir.file("sb/c.mm"), "--topics", "2", "--out", dir.file("m.lsi")])
        try #require(model.status == 0, "\(model.error)")
        var result = try CommandLineTests.run(["project", dir.file("m.lsi"), dir.file("sb/c.mm"), "--out", dir.file("report.tsv")])
        #expect(result.status == 1 && result.error.contains("report.tsv: exists and is not a document table"), "\(result.error)")
        result = try CommandLineTests.run(["project", dir.file("m.lsi"), dir.file("sb/c.mm"), "--out", dir.file("report.tsv"), "--force"])
        #expect(result.status == 0, "\(result.error)")
        // Running a command again replaces its own earlier outputs.
        for _ in 0..<2 {
            result = try CommandLineTests.run(["tfidf", dir.file("sb/c.mm"), "--out", dir.file("sb/c.tfidf.mm")])
            #expect(result.status == 0, "\(result.error)")
        }
        #expect(try dir.temporaries().isEmpty && dir.temporaries("sb").isEmpty)
    }

    /// Starts `latent corpus FIFO --vocab ... --out new` and feeds it 12,000 documents through
    /// a named pipe it reads as it writes, so the command is mid-write for as long as the
    /// pipe stays open. Returns the process once it has written 10,000 documents.
    static func commandMidWrite(_ dir: TemporaryDirectory) throws -> (ChildProcess, Int32) {
        let fifo = dir.file("feed.txt")
        try #require(mkfifo(fifo, 0o600) == 0)
        let child = try ChildProcess("corpus", CommandLineTests.binary,
                                     ["corpus", fifo, "--vocab", dir.file("sb/c.vocab"), "--out", dir.file("new")])
        // Read and write: opening does not wait for the command, and it sees no end of input.
        let fd = open(fifo, O_RDWR | O_NONBLOCK)
        try #require(fd >= 0)
        let lines = (0..<12_000).map { "graph minors survey \($0)\n" }.joined()
        try writeAll(fd, Array(lines.utf8), timeout: 60)
        try child.waitFor("PROGRESS: saving document #10000", timeout: 60)
        return (child, fd)
    }

    /// Writes `bytes` to a non-blocking descriptor, waiting for room with poll.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n > 0 { written += n; continue }
            guard n < 0 && (errno == EAGAIN || errno == EINTR) else { throw ChildProcessError("write to the pipe failed") }
            var waiting = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            guard left > 0, poll(&waiting, 1, left) >= 0 else { throw ChildProcessError("the command stopped reading") }
        }
    }

    /// A sandbox holding an earlier run's outputs at the names the command writes, its
    /// snapshot, and the command stopped mid-write.
    static func midWrite() throws -> (TemporaryDirectory, [String: [UInt8]], ChildProcess, Int32) {
        let dir = try Self.sandbox()
        let made = try CommandLineTests.run(["corpus", dir.file("sb/t.txt"), "--out", dir.file("new")])
        try #require(made.status == 0, "\(made.error)")
        let before = try dir.snapshot()
        let (child, fd) = try Self.commandMidWrite(dir)
        return (dir, before, child, fd)
    }

    @Test("SIGINT mid-write: the earlier outputs stay as they were and no temporary is left")
    func interrupted() throws {
        let (dir, before, child, fd) = try Self.midWrite()
        defer { close(fd); child.stop() }
        #expect(try dir.temporaries().count >= 1, "the command should be writing its temporaries now")
        child.kill(SIGINT)
        let status = child.waitForExit(timeout: 30)
        #expect(status == SIGINT || status == 128 + SIGINT, "status \(String(describing: status))")
        #expect(child.output.contains("latent: interrupted; removed"), "\(child.output)")
        var after = try dir.snapshot()
        after["feed.txt"] = nil
        #expect(after == before)
        #expect(try dir.temporaries().isEmpty)
    }

    @Test("SIGKILL mid-write: nothing partial under the outputs' names, the earlier outputs intact")
    func killed() throws {
        let (dir, before, child, fd) = try Self.midWrite()
        defer { close(fd); child.stop() }
        child.kill(SIGKILL)
        #expect(child.waitForExit(timeout: 30) == SIGKILL)
        var after = try dir.snapshot()
        after["feed.txt"] = nil
        // Only the temporaries differ: those a killed process cannot remove.
        for name in try dir.temporaries() { after[name] = nil }
        #expect(after == before)
    }

    @Test("SIGINT during convert (issue 12's report): no partial output, no temporary left")
    func convertInterrupted() throws {
        let dir = try TemporaryDirectory()
        // 400,000 one-entry documents: seconds of writing in a debug build, so the signal,
        // sent when the first 10,000 are written, arrives mid-write.
        let documents = 400_000
        var text = Array("%%MatrixMarket matrix coordinate real general\n\(documents) 5 \(documents)\n".utf8)
        text.reserveCapacity(documents * 14)
        for document in 1...documents { text += Array("\(document) \(document % 5 + 1) 1.5\n".utf8) }
        try dir.write("big.mm", bytes: text)
        let before = try dir.snapshot()
        let child = try ChildProcess("convert", CommandLineTests.binary, ["convert", dir.file("big.mm"), dir.file("out.mm")])
        defer { child.stop() }
        try child.waitFor("PROGRESS: saving document #10000", timeout: 60)
        child.kill(SIGINT)
        let status = child.waitForExit(timeout: 30)
        #expect(status == SIGINT || status == 128 + SIGINT, "status \(String(describing: status)): \(child.output)")
        // It was mid-write: it had a temporary to remove.
        #expect(child.output.contains("latent: interrupted; removed the temporary file of unfinished outputs"), "\(child.output)")
        #expect(try dir.snapshot() == before)
        #expect(try dir.temporaries().isEmpty)
    }
}
