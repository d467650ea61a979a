import Dispatch
import Foundation
import Latent

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT (Ctrl-C), SIGTERM and SIGHUP end a command without leaving anything half-written:
/// the temporary files and folders of its outputs are removed (`TemporaryFiles`), the
/// progress line is ended, and the process then dies of the same signal, as the shell
/// expects. Outputs already moved into place stay; none is ever partly in place.
enum Interrupts {
    /// The signal sources; kept alive for the life of the process.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    /// Installs the handlers. Call once, at start.
    static func install() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            // Dispatch delivers the signal to a queue, outside the signal handler's context,
            // where removing files is safe.
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { interrupted(by: signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    /// Stops handling the signals (they stay ignored for the default action), for a command
    /// that handles them itself, as the query server does to finish requests in flight.
    static func stopHandling() {
        for source in sources { source.cancel() }
        sources.removeAll()
    }

    private static func interrupted(by signalNumber: Int32) {
        StatusLine.standardError.end()
        TemporaryFiles.removeAllForExit { removed in
            let name = signalNumber == SIGINT ? "interrupted" : "stopped by signal \(signalNumber)"
            let what = removed.isEmpty ? "" : "; removed \(removed.count == 1 ? "the temporary file" : "\(removed.count) temporary files") of unfinished outputs"
            StatusLine.standardError.writeAbove("latent: \(name)\(what)\n")
            // Die of the signal itself, so a calling shell or script sees how the command ended.
            signal(signalNumber, SIG_DFL)
            var unblock = sigset_t()
            sigemptyset(&unblock)
            sigaddset(&unblock, signalNumber)
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            kill(getpid(), signalNumber)
            _exit(128 + signalNumber)
        }
    }
}
