#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization

/// A swift-log handler that writes lines the way gensim's logging does,
/// `2026-11-29 12:00:00,123 : INFO : message`, to standard error, so that logs of Latent
/// and of the original read alike and the same tools can follow them.
///
/// swift-log's levels map onto Python's: trace and debug are DEBUG, info and notice are
/// INFO, warning is WARNING, error is ERROR and critical is CRITICAL. Metadata, when any,
/// follows the message as `key=value` pairs.
public struct GensimStyleLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: @Sendable (String) -> Void

    /// A handler writing to standard error, above the progress line if one is shown.
    public init(level: Logger.Level) {
        self.init(level: level) { line in StatusLine.standardError.writeAbove(line) }
    }

    /// A handler that hands each finished line (newline included) to `sink`.
    public init(level: Logger.Level, sink: @escaping @Sendable (String) -> Void) {
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = Self.timestamp() + " : " + Self.pythonName(of: event.level) + " : " + event.message.description
        if !merged.isEmpty {
            line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        sink(line + "\n")
    }

    /// Python's name of a level.
    public static func pythonName(of level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARNING"
        case .error: "ERROR"
        case .critical: "CRITICAL"
        }
    }

    /// Local time as Python's `asctime`: `YYYY-MM-DD HH:MM:SS,mmm`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let millis = Int32(now.tv_nsec / 1_000_000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)),\(pad(millis, 3))"
    }
}

public enum LatentLogging {
    /// The level names accepted by `--log-level` and `LATENT_LOG_LEVEL`, Python's included.
    public static func level(named name: String) -> Logger.Level? {
        switch name.lowercased() {
        case "trace": .trace
        case "debug": .debug
        case "info": .info
        case "notice": .notice
        case "warning", "warn": .warning
        case "error": .error
        case "critical", "fatal": .critical
        default: nil
        }
    }

    /// Installs `GensimStyleLogHandler` as the process's log handler. Call once, early.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { _ in GensimStyleLogHandler(level: level) }
    }
}

/// The line at the bottom of a terminal that shows progress, redrawn in place. Log lines
/// written while it is shown go above it (it is cleared, the log line written, and the
/// status drawn again), so the two never run into each other. Every write is one `write`
/// call made under a lock, so lines from concurrent threads do not interleave.
public final class StatusLine: Sendable {
    /// The status line of standard error.
    public static let standardError = StatusLine(descriptor: STDERR_FILENO)

    private let descriptor: Int32
    /// The status shown now, if any.
    private let shown = Mutex<String?>(nil)

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Whether the descriptor is a terminal (where a status line can be redrawn).
    public var isTerminal: Bool { isatty(descriptor) == 1 }

    /// Shows `text` as the status, replacing the one shown.
    public func show(_ text: String) {
        shown.withLock { shown in
            shown = text
            emit("\r" + text + "\u{1B}[K")
        }
    }

    /// Leaves the status shown as a line of its own (ends it with a newline).
    public func end() {
        shown.withLock { shown in
            guard shown != nil else { return }
            shown = nil
            emit("\n")
        }
    }

    /// Writes `line` (ending in a newline) above the status.
    public func writeAbove(_ line: String) {
        shown.withLock { shown in
            if let status = shown {
                emit("\r\u{1B}[K" + line + status + "\u{1B}[K")
            } else {
                emit(line)
            }
        }
    }

    private func emit(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}
