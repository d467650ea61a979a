import CCompression
import Foundation

/// The index of a multistream dump (`...-multistream-index.txt.bz2`): one line per page,
/// `offset:page id:title`, where `offset` is the byte at which the bzip2 stream holding the
/// page starts. The distinct offsets cut the dump into streams that decompress on their own,
/// so on as many threads as there are.
struct MultistreamIndex {
    /// Where each stream after the header starts, ascending.
    let offsets: [Int]

    /// The index beside a dump named `NAME.xml.bz2`: `NAME-index.txt.bz2`, if there is one.
    static func companion(of dump: String) -> String? {
        guard dump.hasSuffix(".xml.bz2") else { return nil }
        let path = String(dump.dropLast(".xml.bz2".count)) + "-index.txt.bz2"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Reads and checks the index against the dump's size.
    init(path: String, dumpSize: Int) throws {
        let lines = LineReader(source: try ByteSource(path: path))
        var offsets: [Int] = []
        while let view = try lines.nextLine() {
            let line = Array(view.bindMemory(to: UInt8.self))
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")),
                  let offset = Int(String(decoding: line[..<colon], as: UTF8.self)) else {
                throw CorpusError(code: .format, file: path, line: lines.lineNumber,
                                  message: "expected offset:page id:title, got \(String(decoding: line.prefix(80), as: UTF8.self).debugDescription)")
            }
            guard offset > 0, offset < dumpSize else {
                throw CorpusError(code: .format, file: path, line: lines.lineNumber,
                                  message: "offset \(offset) is outside the dump's \(dumpSize) bytes: this index is not the dump's")
            }
            if let last = offsets.last {
                guard offset >= last else {
                    throw CorpusError(code: .format, file: path, line: lines.lineNumber,
                                      message: "offset \(offset) comes after \(last): offsets must not decrease")
                }
                if offset == last { continue }
            }
            offsets.append(offset)
        }
        self.offsets = offsets
    }
}

enum Bzip2 {
    /// Every bzip2 stream in `data` (one or several, back to back), decompressed.
    /// - Parameters:
    ///   - origin: where `data` starts in `path`, for errors.
    static func decompress(_ data: [UInt8], origin: Int, path: String) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(data.count * 5)
        var consumed = 0
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while consumed < data.count {
            guard data.count - consumed >= 4, data[consumed] == 0x42, data[consumed + 1] == 0x5A, data[consumed + 2] == 0x68 else {
                throw CorpusError(code: .format, file: path, message: "no bzip2 stream starts at byte \(origin + consumed): the multistream index does not match this dump, or the dump is corrupt")
            }
            var stream = bz_stream()
            guard BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK else {
                throw CorpusError(code: .io, file: path, message: "cannot start bzip2 decompression")
            }
            defer { BZ2_bzDecompressEnd(&stream) }
            let status: Int32 = data.withUnsafeBufferPointer { input in
                stream.next_in = UnsafeMutablePointer(mutating: UnsafeRawPointer(input.baseAddress! + consumed).assumingMemoryBound(to: CChar.self))
                stream.avail_in = UInt32(input.count - consumed)
                while true {
                    let (status, produced) = block.withUnsafeMutableBufferPointer { out in
                        stream.next_out = UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: CChar.self)
                        stream.avail_out = UInt32(out.count)
                        let status = BZ2_bzDecompress(&stream)
                        return (status, out.count - Int(stream.avail_out))
                    }
                    output.append(contentsOf: block[..<produced])
                    if status != BZ_OK { return status }
                    if stream.avail_in == 0 && produced == 0 { return BZ_UNEXPECTED_EOF }
                }
            }
            let used = data.count - consumed - Int(stream.avail_in)
            if status == BZ_UNEXPECTED_EOF {
                throw CorpusError(code: .format, file: path, message: "the bzip2 stream at byte \(origin + consumed) runs past byte \(origin + data.count), where the multistream index puts the next one: the index does not match this dump, or the dump is truncated")
            }
            guard status == BZ_STREAM_END else {
                throw CorpusError(code: .format, file: path, message: "corrupt bzip2 data in the stream at byte \(origin + consumed) (libbzip2 status \(status))")
            }
            consumed += used
        }
        return output
    }
}
