import CCompression
#if canImport(Glibc)
import Glibc
#endif

/// Something bytes are read from in order: a file, or a decoder over one.
protocol ByteReading: AnyObject {
    /// Reads up to `buffer.count` bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A stream of bytes from a file, decompressed on the fly when the name ends in `.gz` or
/// `.bz2` (as gensim's `utils.open` does).
final class ByteSource: ByteReading {
    private enum Handle {
        case plain(Int32)
        case gzip(gzFile)
        case bzip2(UnsafeMutablePointer<FILE>, UnsafeMutableRawPointer)
    }

    let path: String
    private var handle: Handle?
    /// Whether the bzip2 stream has reached its end marker.
    private var bzip2Done = false

    var isCompressed: Bool {
        if case .plain = handle { return false }
        return true
    }

    init(path: String) throws {
        self.path = path
        if path.hasSuffix(".gz") {
            guard let file = gzopen(path, "rb") else { throw Self.openError(path) }
            gzbuffer(file, 1 << 20)
            handle = .gzip(file)
        } else if path.hasSuffix(".bz2") {
            guard let file = fopen(path, "rb") else { throw Self.openError(path) }
            var status: Int32 = 0
            guard let bz = BZ2_bzReadOpen(&status, file, 0, 0, nil, 0), status == BZ_OK else {
                fclose(file)
                throw CorpusError(code: .format, file: path, message: "not a bzip2 file (libbzip2 status \(status))")
            }
            handle = .bzip2(file, bz)
        } else {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Self.openError(path) }
            handle = .plain(fd)
        }
    }

    deinit { close() }

    private static func openError(_ path: String) -> CorpusError {
        CorpusError(code: .io, file: path, message: "cannot open: \(String(cString: strerror(errno)))")
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let handle, let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        switch handle {
        case .plain(let fd):
            while true {
                let n = Glibc.read(fd, base, buffer.count)
                if n >= 0 { return n }
                if errno == EINTR { continue }
                throw CorpusError(code: .io, file: path, message: "read failed: \(String(cString: strerror(errno)))")
            }
        case .gzip(let file):
            let n = gzread(file, base, UInt32(min(buffer.count, Int(Int32.max))))
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown"
                throw CorpusError(code: .format, file: path, message: "corrupt gzip data: \(message)")
            }
            return Int(n)
        case .bzip2(let file, let bz):
            if bzip2Done { return 0 }
            var status: Int32 = 0
            let n = BZ2_bzRead(&status, bz, base, Int32(min(buffer.count, Int(Int32.max))))
            if status == BZ_STREAM_END {
                // Several streams may follow one another (a multistream dump, or files joined
                // with cat), as Python's bz2 reads them: go on with the next, if any.
                try nextBzip2Stream(file, bz)
                if n == 0 { return try read(into: buffer) }
            } else if status != BZ_OK {
                throw CorpusError(code: .format, file: path, message: "corrupt bzip2 data near compressed byte \(ftell(file)) (libbzip2 status \(status))")
            }
            return Int(n)
        }
    }

    /// After a bzip2 stream's end: a decoder for the stream that follows in the file, or the
    /// end when nothing does.
    private func nextBzip2Stream(_ file: UnsafeMutablePointer<FILE>, _ bz: UnsafeMutableRawPointer) throws {
        var status: Int32 = 0
        var unusedPointer: UnsafeMutableRawPointer?
        var unusedCount: Int32 = 0
        BZ2_bzReadGetUnused(&status, bz, &unusedPointer, &unusedCount)
        // The decoder owns those bytes until it is closed: copy them first.
        var unused = [UInt8](repeating: 0, count: Int(max(0, unusedCount)))
        if let unusedPointer, unusedCount > 0 {
            unused.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: unusedPointer, count: Int(unusedCount))) }
        }
        BZ2_bzReadClose(&status, bz)
        handle = nil
        if unused.isEmpty {
            // Nothing buffered: the file's end, or another stream still unread.
            let next = fgetc(file)
            if next == EOF {
                fclose(file)
                bzip2Done = true
                return
            }
            unused = [UInt8(truncatingIfNeeded: next)]
        }
        let reopened = unused.withUnsafeMutableBytes { BZ2_bzReadOpen(&status, file, 0, 0, $0.baseAddress, Int32($0.count)) }
        guard let reopened, status == BZ_OK else {
            fclose(file)
            bzip2Done = true
            throw CorpusError(code: .format, file: path, message: "data after the end of a bzip2 stream that does not start another (libbzip2 status \(status))")
        }
        handle = .bzip2(file, reopened)
    }

    /// How far into the file itself (compressed bytes, for a compressed file) reading has
    /// got, for progress against the file's size.
    var fileOffset: Int {
        switch handle {
        case .plain(let fd): Int(lseek(fd, 0, SEEK_CUR))
        case .gzip(let file): Int(gzoffset(file))
        case .bzip2(let file, _): Int(ftell(file))
        case nil: 0
        }
    }

    /// Moves to byte `offset` of the uncompressed stream (plain files only).
    func seek(to offset: Int) throws {
        guard case .plain(let fd) = handle else {
            throw CorpusError(code: .io, file: path, message: "random access needs an uncompressed file")
        }
        guard lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
            throw CorpusError(code: .io, file: path, message: "cannot seek to byte \(offset)")
        }
    }

    func close() {
        switch handle {
        case .plain(let fd): _ = Glibc.close(fd)
        case .gzip(let file): gzclose(file)
        case .bzip2(let file, let bz):
            var status: Int32 = 0
            BZ2_bzReadClose(&status, bz)
            fclose(file)
        case nil: break
        }
        handle = nil
    }
}

/// Hands out the lines of a `ByteSource` as views into a reusable buffer, tracking the line
/// number and the byte offset of each line. A view is valid until the next call.
final class LineReader {
    private let source: any ByteReading
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var atEOF = false
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// Byte offset, in the uncompressed stream, of the line last returned.
    private(set) var lineOffset = 0
    private var consumed = 0
    /// Byte offset just past the line last returned (its newline included).
    var offsetAfterLine: Int { consumed }
    /// Whether the line last returned ended without a newline (end of file).
    private(set) var lastLineUnterminated = false

    init(source: any ByteReading, startingAt offset: Int = 0, lineNumber: Int = 0, capacity: Int = 1 << 20) {
        self.source = source
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        consumed = offset
        self.lineNumber = lineNumber
    }

    deinit { buffer.deallocate() }

    /// The next line without its newline (and without a trailing `\r`), or nil at the end.
    func nextLine() throws -> UnsafeRawBufferPointer? {
        while true {
            if start < end, let newline = memchr(buffer.baseAddress! + start, 0x0A, end - start) {
                let lineEnd = buffer.baseAddress!.distance(to: newline)
                return emit(from: start, to: lineEnd, advance: lineEnd + 1 - start, terminated: true)
            }
            if atEOF {
                guard start < end else { return nil }
                return emit(from: start, to: end, advance: end - start, terminated: false)
            }
            try refill()
        }
    }

    private func emit(from lineStart: Int, to lineEnd: Int, advance: Int, terminated: Bool) -> UnsafeRawBufferPointer {
        var length = lineEnd - lineStart
        if length > 0 && buffer[lineStart + length - 1] == 0x0D { length -= 1 }
        lineNumber += 1
        lineOffset = consumed
        consumed += advance
        start += advance
        lastLineUnterminated = !terminated
        return UnsafeRawBufferPointer(start: buffer.baseAddress! + lineStart, count: length)
    }

    private func refill() throws {
        if start > 0 {
            let pending = end - start
            if pending > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: pending) }
            start = 0
            end = pending
        }
        if end == buffer.count {
            // One line longer than the buffer: grow it.
            let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            larger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = larger
        }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        if n == 0 { atEOF = true } else { end += n }
    }
}
