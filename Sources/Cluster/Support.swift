import Foundation
import GRPCCore

// Small helpers every role of the cluster uses.

/// Runs CPU-heavy work (a job, decoding or checking a payload) on a thread of its own, off
/// Swift's cooperative pool, so heartbeats and transfers go on meanwhile.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// An error as logs and messages show it: an RPC error as "code: message".
func describe(_ error: any Error) -> String {
    if let error = error as? RPCError { return "\(error.code): \(error.message)" }
    return "\(error)"
}

/// A duration in seconds, to a tenth.
func roundedSeconds(_ duration: Duration) -> Double {
    (duration / .milliseconds(100)).rounded() / 10
}

/// A duration in whole milliseconds.
func milliseconds(_ duration: Duration) -> Int {
    Int((duration / .milliseconds(1)).rounded())
}

/// "chunk 3", "chunks 8 to 15": `count` chunks from chunk `first`.
func chunkSpan(_ first: Int, count: Int) -> String {
    count == 1 ? "chunk \(first)" : "chunks \(first) to \(first + count - 1)"
}

/// "1 worker", "2 workers".
func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}

/// Text a peer sent, fit for a log line or a terminal: control characters (line ends,
/// escape sequences, C1 controls, Unicode's direction overrides) shown as `\u{…}` escapes,
/// and cut to `limit` characters. A name with a newline cannot forge a log line, and one
/// with escape sequences cannot rewrite the terminal of whoever runs `latent status`.
public func sanitized(_ text: String, limit: Int = 100) -> String {
    var out = ""
    var count = 0
    for scalar in text.unicodeScalars {
        if count >= limit {
            out += "…"
            break
        }
        let value = scalar.value
        let control = value < 0x20 || (0x7F...0x9F).contains(value) || (0x200E...0x200F).contains(value)
            || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
        if control {
            out += "\\u{\(String(value, radix: 16))}"
        } else {
            out.unicodeScalars.append(scalar)
        }
        count += 1
    }
    return out
}
