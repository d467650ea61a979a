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
