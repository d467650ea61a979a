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

/// "1 worker", "2 workers".
func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
