import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The whole content of a (small) file, decompressed when named `.gz` or `.bz2`; errors name the file.
public func readWholeFile(path: String) throws -> [UInt8] {
    let source = try ByteSource(path: path)
    var bytes: [UInt8] = []
    var block = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = try block.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { break }
        bytes.append(contentsOf: block[0..<n])
    }
    return bytes
}

/// A file written under a temporary name beside its destination and renamed into place on
/// `commit()`, so that readers never see a half-written file and a failed write leaves the
/// old file (if any) untouched. Writes are buffered; `seek` supports gensim's rewrite of the
/// Matrix Market stats line.
public final class AtomicFileWriter {
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    /// Bytes written so far (the offset of the next byte).
    public private(set) var offset = 0
    private var committed = false

    public init(path: String) throws {
        self.path = path
        temporaryPath = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CorpusError(code: .io, file: path, message: "cannot create \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(bufferLimit)
    }

    deinit {
        if !committed {
            if fd >= 0 { close(fd) }
            unlink(temporaryPath)
        }
    }

    public func write(_ text: String) throws {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
        offset += text.utf8.count
        if buffer.count >= bufferLimit { try flush() }
    }

    public func write(bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        offset += bytes.count
        if buffer.count >= bufferLimit { try flush() }
    }

    public func write(raw: UnsafeRawBufferPointer) throws {
        if raw.count >= bufferLimit {
            // Large blocks (arrays of a model) go straight to the file, not through the buffer.
            try flush()
            try writeFully(raw)
            offset += raw.count
            return
        }
        buffer.append(contentsOf: raw)
        offset += raw.count
        if buffer.count >= bufferLimit { try flush() }
    }

    private func writeFully(_ raw: UnsafeRawBufferPointer) throws {
        var written = 0
        while written < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw CorpusError(code: .io, file: path, message: "write failed: \(String(cString: strerror(errno)))")
            }
            written += n
        }
    }

    public func flush() throws {
        try buffer.withUnsafeBytes { try writeFully($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Overwrites bytes already written at `position` (flushing first).
    public func overwrite(at position: Int, bytes: [UInt8]) throws {
        try flush()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(position)) }
        guard n == bytes.count else {
            throw CorpusError(code: .io, file: path, message: "rewrite at byte \(position) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Maps what was written, lets `header` compute the bytes to put at the start from it
    /// (e.g. a checksum), writes them, then commits.
    public func commitChecksummed(header: (UnsafeRawBufferPointer) -> [UInt8]) throws {
        try flush()
        let mapping = try MappedFile(path: temporaryPath)
        try overwrite(at: 0, bytes: header(mapping.bytes))
        try commit()
    }

    /// Flushes, syncs and renames the file into place.
    public func commit() throws {
        try flush()
        guard fsync(fd) == 0 || errno == EINVAL else {
            throw CorpusError(code: .io, file: path, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            throw CorpusError(code: .io, file: path, message: "cannot rename \(temporaryPath) into place: \(String(cString: strerror(errno)))")
        }
        committed = true
    }
}
