/// Writes a corpus of short dense vectors (documents in topic space) as a table people and
/// other programs read directly, one line per document:
///
/// - `.tsv`: a header `document[<TAB>file]<TAB>topic_0<TAB>topic_1...`, then the document's
///   number (0-based), its source file when known, and every value;
/// - `.jsonl`: `{"document": 0, "file": "a.txt", "topics": [0.1, -0.2]}` per line.
///
/// Values are written in the shortest form that reads back to the same double (Python's
/// `repr`), zeros included, so every line has every column.
public enum DocumentVectorsWriter {
    public enum Format: Sendable {
        case tsv
        case jsonLines
    }

    /// The format a name asks for, or nil when it is neither `.tsv` nor `.jsonl`.
    public static func format(of path: String) -> Format? {
        path.hasSuffix(".tsv") ? .tsv : path.hasSuffix(".jsonl") ? .jsonLines : nil
    }

    /// Writes `corpus`, whose documents have ids below `columns`, to `path`.
    /// - Parameters:
    ///   - files: the source file of each document, when known (a folder source's).
    ///   - progress: called with the number of documents written so far.
    /// - Throws: `CorpusError` when `path` may not be replaced, a document has an id at or
    ///   beyond `columns`, `files` has fewer names than there are documents, or on a write error.
    @discardableResult
    public static func write(_ corpus: some Corpus, to path: String, columns: Int, files: [String]? = nil,
                             replacing: ReplacePolicy = .sameKind, progress: ((Int) -> Void)? = nil) throws -> Int {
        guard let format = format(of: path) else {
            throw CorpusError(code: .refused, file: path, message: "unknown table extension; expected .tsv or .jsonl")
        }
        let kind: OutputKind = format == .tsv ? .documentTable : .documentJSONLines
        let file = try AtomicFileWriter(path: path, kind: kind, replacing: replacing)
        if format == .tsv {
            let names = (0..<columns).map { "\ttopic_\($0)" }.joined()
            try file.write("document" + (files == nil ? "" : "\tfile") + names + "\n")
        }
        var values = [Double](repeating: 0, count: columns)
        var document = 0
        try corpus.forEachChunk(size: 4096) { chunk in
            for j in 0..<chunk.documentCount {
                for index in values.indices { values[index] = 0 }
                for entry in chunk.columnStarts[j]..<chunk.columnStarts[j + 1] {
                    let id = Int(chunk.termIDs[entry])
                    guard id < columns else {
                        throw CorpusError(code: .outOfRange, file: path, line: document + 1,
                                          message: "document #\(document) has a value in column \(id); the table has \(columns)")
                    }
                    values[id] = chunk.weights[entry]
                }
                var name: String?
                if let files {
                    guard document < files.count else {
                        throw CorpusError(code: .inconsistent, file: path, message:
                            "the list of document files names \(files.count) documents; the corpus has more")
                    }
                    name = files[document]
                }
                switch format {
                case .tsv:
                    var line = String(document)
                    if let name { line += "\t" + DocumentFiles.escaped(name) }
                    for value in values { line += "\t" + pythonRepr(value) }
                    try file.write(line + "\n")
                case .jsonLines:
                    var line = "{\"document\": \(document)"
                    if let name { line += ", \"file\": " + jsonString(name) }
                    line += ", \"topics\": [" + values.map(pythonRepr).joined(separator: ", ") + "]}"
                    try file.write(line + "\n")
                }
                document += 1
            }
            progress?(document)
        }
        if let files, files.count != document {
            throw CorpusError(code: .inconsistent, file: path, message:
                "the list of document files names \(files.count) documents; the corpus has \(document)")
        }
        try file.commit()
        return document
    }

    /// A JSON string literal.
    public static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
