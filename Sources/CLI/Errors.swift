import ArgumentParser
import LatentCluster
import Latent

/// The one place errors become what the user sees: the layers' errors turn into one clear
/// line on standard error and exit code 1 (ArgumentParser's own usage errors keep code 64).
func rendered(_ error: any Error) -> any Error {
    switch error {
    case let error as CorpusError where error.code == .exists:
        CleanExit.message("latent: error: \(error) (--force replaces it)", code: 1)
    case let error as CorpusError: CleanExit.message("latent: error: \(error)", code: 1)
    case let error as LinearAlgebraError: CleanExit.message("latent: error: \(error)", code: 1)
    case let error as ModelError: CleanExit.message("latent: error: \(error)", code: 1)
    case let error as ClusterError: CleanExit.message("latent: error: \(error)", code: 1)
    case let error as PortableEncodingError: CleanExit.message("latent: error: \(error)", code: 1)
    default: error
    }
}

enum CleanExit {
    static func message(_ text: String, code: Int32) -> ExitCode {
        var line = Array((text + "\n").utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
        return ExitCode(code)
    }
}

#if canImport(Glibc)
import Glibc
#endif
