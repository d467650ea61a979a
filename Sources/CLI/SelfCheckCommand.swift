import ArgumentParser
import Latent

struct SelfCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Check the linear-algebra layer: the BLAS in use, gemm speed in both precisions, QR and SVD residuals."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Side of the square matrices multiplied.")
    var size: Int = 2000

    @Option(help: "BLAS threads (default: OpenBLAS's choice).")
    var threads: Int?

    func validate() throws {
        guard size >= 1 && size <= 20_000 else { throw ValidationError("--size must be between 1 and 20000, got \(size)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() async throws {
        let logger = try global.makeLogger(label: "latent.selfcheck")
        if let threads { ComputeThreads.alone(on: threads) }
        logger.info("multiplying \(size)x\(size) matrices in Float64 and Float32")
        let check = try LinearAlgebraSelfCheck.run(size: size)
        print("started with: \(StartupTuning.inEffect)")
        print(check.report)
    }
}
