import CCompression
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A file written under a temporary name beside its destination and renamed into place on
/// `commit()`, so that readers never see a half-written file and a failed or interrupted
/// write leaves what was at the destination untouched.
///
/// Before anything is written, the destination is checked (`OutputCheck.file`): a file of
/// another kind, a folder or one of the command's inputs is never replaced. The check runs
/// again at `commit()`, in case something appeared there meanwhile. Destinations named
/// `.gz` or `.bz2` are compressed: the content is written plain to the temporary (so that
/// `overwrite(at:)` works, as gensim's Matrix Market stats line needs) and compressed into
/// a second temporary on commit. Temporaries are registered with `TemporaryFiles`, so an
/// interrupted command removes them, and removed when the writer goes away uncommitted.
///
/// Writes are buffered.
public final class AtomicFileWriter {
    public let path: String
    private let kind: OutputKind?
    private let replacing: ReplacePolicy
    private let compression: Compression?
    private let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    /// Bytes written so far (the offset of the next byte), before any compression.
    public private(set) var offset = 0
    private var committed = false
    private let logger: Logger?
    private let group: OutputGroup?
    /// The finished temporary (compressed when asked) once `commit()` has prepared it.
    fileprivate private(set) var finished: String?

    /// Starts a file of `kind` for `path`; `logger` hears of the compression step, if any.
    /// With a `group`, `commit()` only prepares the file, and the group moves all its files
    /// into place together.
    /// - Throws: `CorpusError` when `path` may not be replaced (see `OutputCheck.file`), or
    ///   when the temporary cannot be created.
    public init(path: String, kind: OutputKind, replacing: ReplacePolicy = .sameKind, logger: Logger? = nil,
                group: OutputGroup? = nil) throws {
        try OutputCheck.file(path, kind: kind, replacing: replacing)
        self.path = path
        self.logger = logger
        self.group = group
        self.kind = kind
        self.replacing = replacing
        compression = Compression(path: path)
        temporaryPath = TemporaryFiles.name(beside: path)
        fd = try Self.create(temporaryPath, for: path)
        buffer.reserveCapacity(bufferLimit)
    }

    /// A scratch file beside `path` that is never committed, only read back
    /// (`readBack()`), and removed when the writer goes away.
    init(scratchBeside path: String) throws {
        self.path = path
        logger = nil
        group = nil
        kind = nil
        replacing = .sameKind
        compression = nil
        temporaryPath = TemporaryFiles.name(beside: path)
        fd = try Self.create(temporaryPath, for: path)
    }

    private static func create(_ temporary: String, for path: String) throws -> Int32 {
        let fd = try TemporaryFiles.create(temporary) { open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            TemporaryFiles.forget(temporary)
            throw CorpusError(code: .io, file: path, message: "cannot create the temporary \(temporary): \(reason)")
        }
        return fd
    }

    deinit {
        guard !committed else { return }
        if fd >= 0 { close(fd) }
        TemporaryFiles.remove(temporaryPath)
        if let finished, finished != temporaryPath { TemporaryFiles.remove(finished) }
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
        try Self.writeFully(fd, raw, path: path)
    }

    static func writeFully(_ fd: Int32, _ raw: UnsafeRawBufferPointer, path: String) throws {
        guard let base = raw.baseAddress else { return }
        var written = 0
        while written < raw.count {
            let n = Glibc.write(fd, base + written, raw.count - written)
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
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(position)) }
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

    /// The temporary's path, for a scratch file read by name (after `flush()`).
    var temporaryFile: String { temporaryPath }

    /// What was written so far, from the start, for a scratch file.
    func readBack() throws -> ByteSource {
        try flush()
        return try ByteSource(path: temporaryPath)
    }

    /// Flushes, syncs, compresses when the name asks for it, and renames the file into place
    /// (in a group: leaves the renaming to the group's `commit()`).
    public func commit() throws {
        try flush()
        guard fsync(fd) == 0 || errno == EINVAL else {
            throw CorpusError(code: .io, file: path, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
        if let kind { try OutputCheck.file(path, kind: kind, replacing: replacing) }
        var finished = temporaryPath
        if let compression {
            logger?.info("compressing \(path) (\(compression), \(offset) bytes)")
            finished = TemporaryFiles.name(beside: path)
            let output = try Self.create(finished, for: path)
            do {
                guard lseek(fd, 0, SEEK_SET) == 0 else {
                    throw CorpusError(code: .io, file: path, message: "cannot read back the temporary: \(String(cString: strerror(errno)))")
                }
                try compression.compress(from: fd, into: output, path: path)
            } catch {
                TemporaryFiles.remove(finished)
                throw error
            }
        }
        close(fd)
        fd = -1
        if finished != temporaryPath { TemporaryFiles.remove(temporaryPath) }
        self.finished = finished
        if let group {
            group.add(self)
        } else {
            try TemporaryFiles.moveIntoPlace([finished]) { try moveIntoPlace() }
            committed = true
        }
    }

    /// Renames the prepared file into place; called while holding the registry.
    fileprivate func moveIntoPlace() throws {
        guard let finished else { return }
        guard rename(finished, path) == 0 else {
            throw CorpusError(code: .io, file: path, message: "cannot rename \(finished) into place: \(String(cString: strerror(errno)))")
        }
    }

    fileprivate func markCommitted() { committed = true }
}

/// Outputs that belong together (a corpus, its index and its vocabulary): each is written
/// to its temporary, and `commit()` moves them all into place at once, so an interruption
/// never leaves a new file beside an old one of the same set.
public final class OutputGroup {
    private var prepared: [AtomicFileWriter] = []
    private var stale: [String] = []

    public init() {}

    /// Removes `path` once the outputs are in place: a file that would describe the old
    /// outputs (an index of a corpus now written without one).
    public func removeAfterCommit(_ path: String) {
        stale.append(path)
    }

    fileprivate func add(_ writer: AtomicFileWriter) {
        prepared.append(writer)
    }

    /// Moves every prepared file into place, in the order they were prepared.
    public func commit() throws {
        let writers = prepared
        prepared = []
        try TemporaryFiles.moveIntoPlace(writers.compactMap(\.finished)) {
            for writer in writers { try writer.moveIntoPlace() }
            for path in stale { TemporaryFiles.removeQuietly(path) }
        }
        for writer in writers { writer.markCommitted() }
    }
}

/// The compressed formats of output files, chosen by name as gensim's `utils.open` does.
enum Compression {
    case gzip
    case bzip2

    init?(path: String) {
        if path.hasSuffix(".gz") { self = .gzip } else if path.hasSuffix(".bz2") { self = .bzip2 } else { return nil }
    }

    /// Compresses everything readable from `input` into `output` (which it closes, synced).
    func compress(from input: Int32, into output: Int32, path: String) throws {
        func fail(_ message: String) -> CorpusError { CorpusError(code: .io, file: path, message: message) }
        var block = [UInt8](repeating: 0, count: 1 << 20)
        func nextBlock() throws -> Int {
            while true {
                let n = block.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
                if n >= 0 { return n }
                if errno != EINTR { throw fail("cannot read back the temporary: \(String(cString: strerror(errno)))") }
            }
        }
        switch self {
        case .gzip:
            guard let file = gzdopen(output, "wb6") else {
                close(output)
                throw fail("cannot start gzip compression")
            }
            var closed = false
            defer { if !closed { gzclose(file) } }
            while true {
                let n = try nextBlock()
                if n == 0 { break }
                let written = block.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32(n)) }
                guard written == n else { throw fail("gzip compression failed while writing") }
            }
            guard gzflush(file, Z_FINISH) == Z_OK, fsync(output) == 0 || errno == EINVAL else {
                throw fail("gzip compression failed at the end: \(String(cString: strerror(errno)))")
            }
            closed = true
            guard gzclose(file) == Z_OK else { throw fail("gzip compression failed when closing") }
        case .bzip2:
            guard let file = fdopen(output, "wb") else {
                close(output)
                throw fail("cannot start bzip2 compression: \(String(cString: strerror(errno)))")
            }
            defer { fclose(file) }
            var status: Int32 = 0
            guard let bz = BZ2_bzWriteOpen(&status, file, 9, 0, 0), status == BZ_OK else {
                throw fail("cannot start bzip2 compression (libbzip2 status \(status))")
            }
            var open = true
            defer { if open { BZ2_bzWriteClose(&status, bz, 1, nil, nil) } }
            while true {
                let n = try nextBlock()
                if n == 0 { break }
                block.withUnsafeMutableBytes { BZ2_bzWrite(&status, bz, $0.baseAddress, Int32(n)) }
                guard status == BZ_OK else { throw fail("bzip2 compression failed (libbzip2 status \(status))") }
            }
            open = false
            BZ2_bzWriteClose(&status, bz, 0, nil, nil)
            guard status == BZ_OK else { throw fail("bzip2 compression failed at the end (libbzip2 status \(status))") }
            guard fflush(file) == 0, fsync(output) == 0 || errno == EINVAL else {
                throw fail("cannot sync the compressed file: \(String(cString: strerror(errno)))")
            }
        }
    }
}
