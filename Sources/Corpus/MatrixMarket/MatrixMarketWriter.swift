import Logging

/// Writes corpora in gensim's Matrix Market layout, byte for byte as `MmCorpus.serialize`
/// does: the header, a stats line of 50 blanks rewritten in place once the counts are known,
/// then `document term weight` lines (1-based) with the terms of each document sorted and
/// weights of magnitude 1e-12 or less dropped. Weights that are whole numbers are written as
/// integers (`1`), others in the shortest form that reads back to the same double (Python's
/// `repr`). The file is written under a temporary name and renamed; with `index`, the byte
/// offsets of the documents go to `PATH.index` as gensim's pickle.
public enum MatrixMarketWriter {
    static let header = "%%MatrixMarket matrix coordinate real general\n"

    /// Writes `corpus` to `path` and returns what was written. A path ending in `.gz` or
    /// `.bz2` is compressed (and gets no index: offsets into a compressed stream give no
    /// random access).
    /// - Parameters:
    ///   - termCount: the number of terms for the stats line (gensim: `len(id2word)`); by
    ///     default the largest term id written plus one.
    ///   - index: also write `path + ".index"` (uncompressed outputs only).
    ///   - replacing: what an existing file at `path` may be (see `OutputCheck.file`).
    ///   - progress: called with the number of documents written so far, every few thousand.
    ///   - group: moves the file and its index into place with other outputs; by default
    ///     the two are moved into place together on their own.
    @discardableResult
    public static func write<C: Corpus>(
        _ corpus: C, to path: String, termCount: Int? = nil, index: Bool = true, replacing: ReplacePolicy = .sameKind,
        logger: Logger? = nil, progress: ((Int) -> Void)? = nil, group: OutputGroup? = nil
    ) throws -> CorpusStatistics {
        let outputs = group ?? OutputGroup()
        let indexPath = path + ".index"
        let writesIndex = index && Compression(path: path) == nil
        try OutputCheck.file(indexPath, kind: .matrixMarketIndex, replacing: replacing)
        let file = try AtomicFileWriter(path: path, kind: .matrixMarket, replacing: replacing, logger: logger, group: outputs)
        try file.write(header)
        let statsOffset = file.offset
        try file.write(String(repeating: " ", count: 50) + "\n")

        var stats = CorpusStatistics()
        var offsets: [Int] = []
        var lastOffset = -1
        var line: [UInt8] = []
        line.reserveCapacity(64)
        var document = 0
        try corpus.forEachChunk(size: 10_000) { chunk in
            for j in 0..<chunk.documentCount {
                // gensim's progress lines, unless the caller shows progress its own way.
                if document % 100_000 == 0 {
                    logger?.log(level: progress == nil ? .info : .debug, "PROGRESS: saving document #\(document)")
                }
                if writesIndex {
                    if file.offset == lastOffset { offsets[offsets.count - 1] = -1 }
                    offsets.append(file.offset)
                    lastOffset = file.offset
                }
                var written = 0
                for entry in chunk.columnStarts[j]..<chunk.columnStarts[j + 1] {
                    let weight = chunk.weights[entry]
                    guard abs(weight) > 1e-12 else { continue }
                    let term = Int(chunk.termIDs[entry])
                    line.removeAll(keepingCapacity: true)
                    appendDecimal(document + 1, to: &line)
                    line.append(0x20)
                    appendDecimal(term + 1, to: &line)
                    line.append(0x20)
                    appendWeight(weight, to: &line)
                    line.append(0x0A)
                    try file.write(bytes: line)
                    stats.terms = max(stats.terms, term + 1)
                    written += 1
                }
                stats.nonZeros += written
                if written == 0 { stats.emptyDocuments += 1 }
                document += 1
            }
            progress?(document)
        }
        stats.documents = document
        if let termCount { stats.terms = termCount }
        let statsText = "\(stats.documents) \(stats.terms) \(stats.nonZeros)"
        guard statsText.utf8.count <= 50 else {
            throw CorpusError(code: .outOfRange, file: path, message: "stats '\(statsText)' do not fit gensim's 50-character stats line")
        }
        try file.overwrite(at: statsOffset, bytes: Array(statsText.utf8))
        try file.commit()
        if writesIndex {
            let indexFile = try AtomicFileWriter(path: indexPath, kind: .matrixMarketIndex, replacing: replacing, group: outputs)
            try indexFile.write(bytes: PickledOffsets.encode(offsets))
            try indexFile.commit()
        }
        // An index left from an earlier output at this path would describe another file.
        if !writesIndex, OutputCheck.status(of: indexPath) != nil, OutputKind.matrixMarketIndex.recognizes(file: indexPath) {
            outputs.removeAfterCommit(indexPath)
        }
        if group == nil { try outputs.commit() }
        if stats.documents > 0 && stats.terms > 0 {
            logger?.info("saved \(stats.documents)x\(stats.terms) matrix, density=\(formatPercent(stats.density))% (\(stats.nonZeros)/\(stats.documents * stats.terms))")
        }
        return stats
    }

    @inline(__always)
    static func appendDecimal(_ value: Int, to line: inout [UInt8]) {
        if value < 0 {
            line.append(UInt8(ascii: "-"))
            appendDecimal(-value, to: &line)
            return
        }
        if value < 10 {
            line.append(UInt8(48 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[count] = UInt8(48 + rest % 10)
                rest /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { line.append(buffer[index]) }
        }
    }

    /// A weight as gensim writes it: whole numbers as integers, others as Python's `repr`.
    static func appendWeight(_ weight: Double, to line: inout [UInt8]) {
        if weight == weight.rounded() && abs(weight) < 1e15 {
            appendDecimal(Int(weight), to: &line)
        } else {
            appendPythonRepr(weight, to: &line)
        }
    }
}

/// Python's `repr` of a float: the shortest string that reads back to the same value, in
/// positional form for decimal exponents from -5 to 15 and scientific otherwise
/// (`1e-05`, `1.5e+16`), with `.0` on whole numbers.
public func pythonRepr(_ value: Double) -> String {
    var bytes: [UInt8] = []
    appendPythonRepr(value, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}

/// `pythonRepr` appended to `out` as UTF-8, without building strings on the way (corpus
/// writers call it for every weight).
func appendPythonRepr(_ value: Double, to out: inout [UInt8]) {
    if value.isNaN { out.append(contentsOf: "nan".utf8); return }
    if value.isInfinite { out.append(contentsOf: (value < 0 ? "-inf" : "inf").utf8); return }
    if value < 0 || (value == 0 && value.sign == .minus) { out.append(UInt8(ascii: "-")) }
    // Swift's description has the shortest round-trip digits too; only the layout differs.
    var description = value.magnitude.description
    // The digits without the point, and the position of the point: value = 0.d1d2... x 10^point.
    var digits: [UInt8] = []
    digits.reserveCapacity(24)
    var point = 0, exponent = 0, sawPoint = false, exponentSign = 1, inExponent = false
    description.withUTF8 { text in
        for c in text {
            if inExponent {
                if c == UInt8(ascii: "-") { exponentSign = -1 } else if c >= 48 && c <= 57 { exponent = exponent * 10 + Int(c - 48) }
            } else if c == UInt8(ascii: ".") {
                sawPoint = true
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                inExponent = true
            } else {
                digits.append(c)
                if !sawPoint { point += 1 }
            }
        }
    }
    point += exponentSign * exponent
    var first = 0
    while first < digits.count - 1, digits[first] == 48 { first += 1; point -= 1 }
    var last = digits.count
    while last > first + 1, digits[last - 1] == 48 { last -= 1 }
    let significant = digits[first..<last]
    if significant.count == 1, significant.first == 48 { out.append(contentsOf: "0.0".utf8); return }
    let decimalExponent = point - 1
    if decimalExponent < -4 || decimalExponent >= 16 {
        out.append(significant[first])
        if significant.count > 1 {
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: significant.dropFirst())
        }
        out.append(UInt8(ascii: "e"))
        out.append(UInt8(ascii: decimalExponent < 0 ? "-" : "+"))
        let magnitude = abs(decimalExponent)
        if magnitude < 10 { out.append(48) }
        out.append(contentsOf: String(magnitude).utf8)
    } else if point <= 0 {
        out.append(contentsOf: "0.".utf8)
        out.append(contentsOf: repeatElement(48, count: -point))
        out.append(contentsOf: significant)
    } else if point >= significant.count {
        out.append(contentsOf: significant)
        out.append(contentsOf: repeatElement(48, count: point - significant.count))
        out.append(contentsOf: ".0".utf8)
    } else {
        out.append(contentsOf: significant.prefix(point))
        out.append(UInt8(ascii: "."))
        out.append(contentsOf: significant.dropFirst(point))
    }
}

func formatPercent(_ fraction: Double) -> String {
    let scaled = (fraction * 100_000).rounded() / 1000
    return String(scaled)
}
