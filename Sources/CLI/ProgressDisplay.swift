import Foundation
import Latent
import Synchronization

/// Shows the progress of a pass over a corpus. On a terminal, one status line redrawn in
/// place (documents done of the total when known, documents per second, time left), with
/// log lines written above it; otherwise gensim's log lines ("processed documents up to
/// #20000", or "PROGRESS: saving document #100000" for writing), so that logs of batch runs
/// read as the original's.
///
/// When a pass of known size is complete, the status line is ended and one log line says
/// so and what comes next, so the display never sits at 100% in silence.
final class ProgressDisplay: Sendable {
    /// What the display is counting: documents processed by training, or written.
    enum Activity: Sendable {
        /// Training: `then` says what follows the last document of a pass.
        case training(then: String)
        /// Writing a corpus file.
        case writing
    }

    private let logger: Logger
    private let activity: Activity
    private let line = StatusLine.standardError
    private let onTerminal: Bool
    private let state: Mutex<State>

    private struct State {
        var started = Date()
        var lastDraw = Date.distantPast
        var pass = 0
        var passEnded = false
        var logged = 0
    }

    init(logger: Logger, activity: Activity) {
        self.logger = logger
        self.activity = activity
        onTerminal = StatusLine.standardError.isTerminal
        state = Mutex(State())
    }

    /// The closure to hand to a model.
    var handler: @Sendable (TrainingProgress) -> Void {
        { [self] progress in update(progress) }
    }

    /// The closure to hand to LDA training: a status line on a terminal, with the last
    /// per-word bound (the trainer logs gensim's lines itself otherwise).
    var ldaHandler: @Sendable (LDAProgress) -> Void {
        { [self] progress in
            guard onTerminal else { return }
            update(TrainingProgress(documentsDone: progress.documentsDone, documentsTotal: progress.documentsTotal,
                                    chunksDone: 0, pass: progress.pass, passes: progress.passes),
                   note: progress.perWordBound.map { String(format: ", per-word bound %.3f", $0) })
        }
    }

    /// The closure to hand to a writer, which reports the documents written so far.
    func writing(total: Int?) -> (Int) -> Void {
        { [self] done in
            update(TrainingProgress(documentsDone: done, documentsTotal: total, chunksDone: 0, pass: 1, passes: 1))
        }
    }

    private func update(_ progress: TrainingProgress, note: String? = nil) {
        let now = Date()
        let pass = progress.passes > 1 ? " (pass \(progress.pass) of \(progress.passes))" : ""
        let complete = progress.documentsTotal.map { progress.documentsDone >= $0 } ?? false
        // What to do, decided under the lock; drawn and logged outside it.
        enum Step { case draw(String), log(String) }
        var steps: [Step] = []
        state.withLock { state in
            if progress.pass != state.pass {
                state.pass = progress.pass
                state.started = now
                state.passEnded = false
                state.logged = 0
            }
            guard !state.passEnded else { return }
            if onTerminal {
                if complete || now.timeIntervalSince(state.lastDraw) >= 0.1 {
                    state.lastDraw = now
                    steps.append(.draw(render(progress, pass: pass, since: state.started, now: now) + (note ?? "")))
                }
            } else {
                switch activity {
                case .training:
                    steps.append(.log("processed documents up to #\(progress.documentsDone)\(pass)"))
                case .writing:
                    // gensim's MmWriter logs every so many documents.
                    let step = 100_000
                    if progress.documentsDone / step > state.logged / step || state.logged == 0 {
                        steps.append(.log("PROGRESS: saving document #\(progress.documentsDone)"))
                    }
                    state.logged = progress.documentsDone
                }
            }
            if complete {
                state.passEnded = true
                let seconds = String(format: "%.1f", now.timeIntervalSince(state.started))
                if case .training(let then) = activity {
                    steps.append(.log("all \(progress.documentsDone) documents processed\(pass) in \(seconds) s; \(then)"))
                }
            }
        }
        for step in steps {
            switch step {
            case .draw(let text):
                line.show(text)
                if complete { line.end() }
            case .log(let text): logger.info("\(text)")
            }
        }
    }

    private func render(_ progress: TrainingProgress, pass: String, since started: Date, now: Date) -> String {
        let elapsed = max(now.timeIntervalSince(started), 1e-3)
        let rate = Double(progress.documentsDone) / elapsed
        var text = ""
        if let total = progress.documentsTotal, total > 0 {
            let fraction = min(1, Double(progress.documentsDone) / Double(total))
            let width = 24, filled = Int(fraction * Double(width))
            text += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            text += String(format: "%3.0f%% ", fraction * 100) + "\(progress.documentsDone)/\(total) documents"
            if rate > 0 && progress.documentsDone < total {
                text += ", ETA " + Self.duration(Double(total - progress.documentsDone) / rate)
            }
        } else {
            text += "\(progress.documentsDone) documents"
        }
        return text + ", " + Self.rate(rate) + pass
    }

    /// Ends the status line, if one is shown (a pass of unknown size, or an error).
    func finish() {
        line.end()
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
