import Foundation
import Latent
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs killed mid-way and resumed from their checkpoint (issue 15, must-show 6): the model
/// is the uninterrupted run's, bit for bit.
@Suite("checkpoints and resume", .serialized, .timeLimit(.minutes(5)))
struct CheckpointResumeTests {
    /// The planted corpus as a binary file in `directory`.
    static func corpus(in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("planted.lbc")
        try CorpusFile.write(PlantedCorpus.shared.corpus, to: path, termCount: PlantedCorpus.shared.terms)
        return path
    }

    /// A reference run of `latent lsi` with `arguments`, then the same with a checkpoint,
    /// started in the background: (the reference model's folder, the run, its model folder,
    /// its checkpoint folder).
    static func referenceAndRun(_ arguments: [String], in directory: TemporaryDirectory,
                                checkpointing: [String]) throws -> (String, ChildProcess, String, String) {
        let reference = directory.file("reference")
        let result = try runProcess(TestCluster.binary, ["lsi"] + arguments + ["--out", reference])
        #expect(result.status == 0, "\(result.error)")
        let checkpoint = directory.file("checkpoint")
        let out = directory.file("model")
        let run = try ChildProcess("lsi", TestCluster.binary,
                                   ["lsi"] + arguments + ["--out", out, "--checkpoint", checkpoint] + checkpointing)
        return (reference, run, out, checkpoint)
    }

    static func modelBytes(_ folder: String) throws -> [Data] {
        try ["u.npy", "s.npy"].map { try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)) }
    }

    @Test("latent lsi SIGKILLed in the middle of its one reduction, then run with --resume: the uninterrupted model, bit for bit")
    func inProcessKillAndResume() throws {
        let directory = try TemporaryDirectory()
        let corpus = try Self.corpus(in: directory)
        let common = [corpus, "--topics", "8", "--chunk-size", "250", "--distributed", "off", "--threads", "2"]
        let (reference, run, out, checkpoint) = try Self.referenceAndRun(common, in: directory, checkpointing: ["--checkpoint-every", "0.01"])
        defer { run.stop() }
        try run.waitFor("checkpoint: the first")
        run.kill(SIGKILL)
        _ = run.waitForExit(timeout: 30)
        #expect(FileManager.default.fileExists(atPath: checkpoint + "/checkpoint.json"))
        #expect(!FileManager.default.fileExists(atPath: out), "a killed run leaves no model")

        // The folder holds a run: without --resume it is refused and left alone.
        let refused = try runProcess(TestCluster.binary, ["lsi"] + common + ["--out", out, "--checkpoint", checkpoint])
        #expect(refused.status != 0 && refused.error.contains("give --resume to continue it"), "\(refused.error)")

        let resumed = try runProcess(TestCluster.binary,
                                     ["lsi"] + common + ["--out", out, "--checkpoint", checkpoint, "--resume", "--checkpoint-every", "3600"])
        #expect(resumed.status == 0, "\(resumed.error)")
        let text = resumed.error + resumed.output
        #expect(text.contains("resuming from the checkpoint in \(checkpoint): 0 reductions done, and the first "), "\(text)")
        #expect(try Self.modelBytes(out) == Self.modelBytes(reference))
        #expect(!FileManager.default.fileExists(atPath: checkpoint), "the checkpoint is removed once the model is saved")
    }

    @Test("a distributed multi-pass run whose dispatcher is SIGKILLed and restarted resumes by itself from its checkpoint: the uninterrupted model, bit for bit")
    func dispatcherKillAndRestart() throws {
        let directory = try TemporaryDirectory()
        let corpus = try Self.corpus(in: directory)
        let cluster = TestCluster()
        defer { cluster.stop() }
        let first = try cluster.startDispatcher()
        try cluster.startWorker(expectedID: 1, threads: 2, jobDelayMilliseconds: 200)
        let common = [corpus, "--topics", "8", "--chunk-size", "1000", "--multipass", "--distributed", "required",
                      "--dispatcher", cluster.address]
        let (reference, run, out, checkpoint) = try Self.referenceAndRun(common, in: directory, checkpointing: ["--log-level", "debug"])
        defer { run.stop() }
        try run.waitFor("checkpoint: reduction 1 of session 1 written")
        first.kill(SIGKILL)
        _ = first.waitForExit(timeout: 10)
        try run.waitFor("lost the dispatcher at \(cluster.address)")
        let second = try cluster.startDispatcher(port: cluster.port)
        try second.waitFor("worker #1 registered")
        #expect(run.waitForExit(timeout: 120) == 0, "\(run.output)")
        #expect(run.output.contains("is back: running the session again"), "\(run.output)")
        #expect(run.output.contains("replayed 1 reduction of session 1 from the checkpoint") || run.output.contains("replayed 2 reductions"),
                "\(run.output)")
        #expect(try Self.modelBytes(out) == Self.modelBytes(reference))
        #expect(!FileManager.default.fileExists(atPath: checkpoint))
    }
}
