import Foundation
import Latent
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Shows training progress: on a terminal, one line redrawn in place (documents done of
/// the total when known, documents per second, time left); otherwise gensim's log lines
/// ("processed documents up to #20000"), so that logs of batch runs read as the original's.
final class ProgressDisplay: Sendable {
    private let logger: Logger
    private let onTerminal: Bool
    private let started = Date()
    private let state = Mutex(State())

    private struct State {
        var lastDraw = Date.distantPast
        var drawn = false
    }

    init(logger: Logger) {
        self.logger = logger
        onTerminal = isatty(2) == 1
    }

    /// The closure to hand to a model.
    var handler: @Sendable (TrainingProgress) -> Void {
        { [self] progress in update(progress) }
    }

    private func update(_ progress: TrainingProgress) {
        let pass = progress.passes > 1 ? " (pass \(progress.pass) of \(progress.passes))" : ""
        guard onTerminal else {
            logger.info("processed documents up to #\(progress.documentsDone)\(pass)")
            return
        }
        let now = Date()
        let finished = progress.documentsTotal.map { progress.documentsDone >= $0 } ?? false
        let line: String? = state.withLock { state in
            guard finished || now.timeIntervalSince(state.lastDraw) >= 0.1 else { return nil }
            state.lastDraw = now
            state.drawn = true
            return render(progress, pass: pass, now: now)
        }
        guard let line else { return }
        FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
    }

    private func render(_ progress: TrainingProgress, pass: String, now: Date) -> String {
        let elapsed = max(now.timeIntervalSince(started), 1e-3)
        let rate = Double(progress.documentsDone) / elapsed
        var line = ""
        if let total = progress.documentsTotal, total > 0 {
            let fraction = min(1, Double(progress.documentsDone) / Double(total))
            let width = 24, filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += String(format: "%3.0f%% ", fraction * 100) + "\(progress.documentsDone)/\(total) documents"
            if rate > 0 { line += ", ETA " + Self.duration(Double(total - progress.documentsDone) / rate) }
        } else {
            line += "\(progress.documentsDone) documents"
        }
        line += ", " + Self.rate(rate) + pass
        return line
    }

    /// Ends the progress line, if one was drawn.
    func finish() {
        if state.withLock({ $0.drawn }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func rate(_ documentsPerSecond: Double) -> String {
        documentsPerSecond >= 1e6 ? String(format: "%.2fM documents/s", documentsPerSecond / 1e6)
            : documentsPerSecond >= 1e3 ? String(format: "%.1fk documents/s", documentsPerSecond / 1e3)
            : String(format: "%.0f documents/s", documentsPerSecond)
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
    }
}
