import ArgumentParser
import Latent

#if canImport(Glibc)
import Glibc
#endif

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: debug, info, warning, error (default: LATENT_LOG_LEVEL, else info).")
    var logLevel: String?

    /// The chosen level: the flag, else `LATENT_LOG_LEVEL`, else info.
    func resolvedLogLevel() throws -> Logger.Level {
        if let name = logLevel {
            guard let level = LatentLogging.level(named: name) else {
                throw ValidationError("--log-level: unknown level '\(name)'; expected debug, info, warning or error")
            }
            return level
        }
        if let raw = getenv("LATENT_LOG_LEVEL") {
            let name = String(cString: raw)
            guard let level = LatentLogging.level(named: name) else {
                throw ValidationError("LATENT_LOG_LEVEL: unknown level '\(name)'; expected debug, info, warning or error")
            }
            return level
        }
        return .info
    }

    /// Sets up logging and returns the command's logger.
    func makeLogger(label: String) throws -> Logger {
        LatentLogging.bootstrap(level: try resolvedLogLevel())
        return Logger(label: label)
    }
}
