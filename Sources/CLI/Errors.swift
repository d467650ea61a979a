import ArgumentParser
import Latent

/// Runs `body`, turning the layers' errors into one clear line on standard error and exit
/// code 1 (ArgumentParser's own usage errors keep code 64).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CorpusError {
        throw CleanExit.message("latent: error: \(error)", code: 1)
    } catch let error as LinearAlgebraError {
        throw CleanExit.message("latent: error: \(error)", code: 1)
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
