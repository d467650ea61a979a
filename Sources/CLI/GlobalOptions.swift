import ArgumentParser
import Latent

#if canImport(Glibc)
import Glibc
#endif

/// `--log-level`: Python's level names and swift-log's, as `LATENT_LOG_LEVEL` takes them.
struct LogLevel: ExpressibleByArgument {
    let level: Logger.Level

    init?(argument: String) {
        guard let level = LatentLogging.level(named: argument) else { return nil }
        self.level = level
    }

    /// Parses a level, or says which names there are.
    static func parse(_ text: String, from source: String) throws -> LogLevel {
        guard let level = LogLevel(argument: text) else {
            throw ValidationError("\(source): unknown level '\(text)'; expected debug, info, warning or error")
        }
        return level
    }

    static var allValueStrings: [String] { ["debug", "info", "warning", "error"] }
}

/// Options every subcommand takes (before or after its name: see `LatentCommand`).
struct GlobalOptions: ParsableArguments {
    @Option(help: "Log level: debug, info, warning, error (default: LATENT_LOG_LEVEL, else info).",
            transform: { try LogLevel.parse($0, from: "--log-level") })
    var logLevel: LogLevel?

    /// The chosen level: the flag, else `LATENT_LOG_LEVEL`, else info.
    func resolvedLogLevel() throws -> Logger.Level {
        if let logLevel { return logLevel.level }
        if let raw = getenv("LATENT_LOG_LEVEL") {
            return try LogLevel.parse(String(cString: raw), from: "LATENT_LOG_LEVEL").level
        }
        return .info
    }

    /// Sets up logging and returns the command's logger.
    func makeLogger(label: String) throws -> Logger {
        LatentLogging.bootstrap(level: try resolvedLogLevel())
        let logger = Logger(label: label)
        logger.debug("started with \(StartupTuning.inEffect)")
        return logger
    }
}

/// `--threads`: the cores a command's computations use.
struct ThreadsOption: ParsableArguments {
    @Option(parsing: .unconditional, help: "Cores to use (default: all).") var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }
}
