import Foundation

/// The process's peak resident memory (Linux's VmHWM), for the figures commands print.
enum PeakMemory {
    /// Bytes, or nil where /proc is not available.
    static func bytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    /// "peak memory 44.1 MiB", or nothing where it cannot be measured.
    static var description: String {
        bytes().map { String(format: "peak memory %.1f MiB", Double($0) / 1_048_576) } ?? ""
    }
}
