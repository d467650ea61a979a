import Foundation

/// The process's peak resident memory (Linux's VmHWM), for the figures commands print.
enum PeakMemory {
    /// Bytes, or nil where /proc is not available.
    static func bytes() -> Int? {
        procKilobytes("VmHWM", in: "/proc/self/status").map { $0 * 1024 }
    }

    /// "peak memory 44.1 MiB", or nothing where it cannot be measured.
    static var description: String {
        bytes().map { String(format: "peak memory %.1f MiB", Double($0) / 1_048_576) } ?? ""
    }
}

/// The memory this machine can give a command now (Linux's MemAvailable: free memory plus
/// caches it can drop), or its physical memory where /proc is not available.
enum AvailableMemory {
    static func bytes() -> Int {
        procKilobytes("MemAvailable", in: "/proc/meminfo").map { $0 * 1024 }
            ?? Int(clamping: ProcessInfo.processInfo.physicalMemory)
    }

    /// What `latent lsi` lets one-pass training take to read the whole corpus as one chunk
    /// when no --chunk-size is given: half of the available memory, leaving the rest to the
    /// system, the page cache and the model's output.
    static func forOneChunk() -> Int { bytes() / 2 }
}

/// The value of the "`key`:   1234 kB" line of a Linux /proc file, in kilobytes; nil when the
/// file or the line is missing or unreadable.
private func procKilobytes(_ key: String, in path: String) -> Int? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        return fields.count >= 2 ? Int(fields[1]) : nil
    }
    return nil
}
