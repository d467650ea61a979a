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

/// The memory this machine can give a command now (Linux's MemAvailable: free memory plus
/// caches it can drop), or its physical memory where /proc is not available.
enum AvailableMemory {
    static func bytes() -> Int {
        if let info = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in info.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                if fields.count >= 2, let kilobytes = Int(fields[1]) { return kilobytes * 1024 }
            }
        }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory)
    }

    /// What `latent lsi` lets one-pass training take to read the whole corpus as one chunk
    /// when no --chunk-size is given: half of the available memory, leaving the rest to the
    /// system, the page cache and the model's output.
    static func forOneChunk() -> Int { bytes() / 2 }
}
