import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What an output file holds, so that a file already at its path is replaced only when it
/// holds the same kind of thing (an earlier run's output), never a user's other files.
public enum OutputKind: Sendable, Equatable, CustomStringConvertible {
    /// A Matrix Market corpus (`.mm`, `.mm.gz`, `.mm.bz2`).
    case matrixMarket
    /// gensim's pickled offsets beside a Matrix Market corpus (`.mm.index`).
    case matrixMarketIndex
    /// Latent's binary corpus (`.lbc`).
    case binaryCorpus
    /// A vocabulary in gensim's `save_as_text` format.
    case vocabulary
    /// `PREFIX.files.tsv`: which file each document of a folder source came from.
    case documentFiles
    /// A table of documents written by Latent (`.tsv`), e.g. topic weights.
    case documentTable
    /// JSON lines of documents written by Latent (`.jsonl`).
    case documentJSONLines
    /// A NumPy `.npy` array.
    case numpyArray
    /// Tokenized texts written by Latent, one document a line (`latent wiki --texts`).
    case tokenizedTexts
    /// An HTML report written by Latent (`latent report`).
    case htmlReport
    /// A file of a training checkpoint (`latent lsi --checkpoint`): a reduction's state or
    /// the list of them.
    case trainingCheckpoint

    /// The first line of every `htmlReport`, by which an earlier report is recognised.
    public static let htmlReportFirstLine = "<!DOCTYPE html><!-- Latent report -->"

    public var description: String {
        switch self {
        case .matrixMarket: "Matrix Market corpus"
        case .matrixMarketIndex: "Matrix Market index"
        case .binaryCorpus: "Latent binary corpus"
        case .vocabulary: "vocabulary"
        case .documentFiles: "list of document files"
        case .documentTable: "document table"
        case .documentJSONLines: "JSON-lines document file"
        case .numpyArray: "NumPy array"
        case .tokenizedTexts: "file of tokenized texts"
        case .htmlReport: "HTML report"
        case .trainingCheckpoint: "training checkpoint file"
        }
    }

    /// Whether the existing, non-empty regular file at `path` holds this kind, judged by its
    /// first bytes (decompressed for `.gz` and `.bz2`).
    func recognizes(file path: String) -> Bool {
        guard let head = try? leadingBytes(of: path, count: 256), !head.isEmpty else { return false }
        let firstLine = head.prefix { $0 != 0x0A }
        let text = String(decoding: firstLine, as: UTF8.self)
        switch self {
        case .matrixMarket:
            return text.lowercased().hasPrefix("%%matrixmarket")
        case .matrixMarketIndex:
            return head.first == 0x80  // a pickle's PROTO opcode, as gensim and Latent write it
        case .binaryCorpus:
            return head.starts(with: Array("LATENTBC".utf8))
        case .vocabulary:
            if !text.isEmpty && text.allSatisfy({ $0.isASCII && $0.isNumber }) { return true }
            let fields = text.split(separator: "\t", omittingEmptySubsequences: false)
            return fields.count == 3 && Int(fields[0]) != nil && Int(fields[2]) != nil
        case .documentFiles:
            return text == DocumentFiles.header
        case .documentTable:
            return text.hasPrefix("document\t") || text.hasPrefix("query\trank\tdocument\t")
        case .documentJSONLines:
            return text.hasPrefix("{\"document\":") || text.hasPrefix("{\"query\": ")
        case .numpyArray:
            return head.starts(with: [0x93] + Array("NUMPY".utf8))
        case .tokenizedTexts:
            // Lowercase words and spaces, as `latent wiki --texts` writes them.
            return text.unicodeScalars.allSatisfy { $0 == " " || $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_" }
        case .htmlReport:
            return text == Self.htmlReportFirstLine
        case .trainingCheckpoint:
            return head.starts(with: Array("LATENTCK".utf8)) || text.hasPrefix("{") && text.count == 1
                && String(decoding: head, as: UTF8.self).contains("\"checkpoint\" : \"latent ")
        }
    }
}

/// May an existing output be replaced? By default only by an output of the same kind.
public enum ReplacePolicy: Sendable, Equatable {
    /// Replace only a file of the same kind, or a model folder of the same kind.
    case sameKind
    /// Also replace a regular file of another kind, or a model folder of another kind (the
    /// command line's `--force`). A folder that is not a model folder is never replaced.
    case anyKind
}

/// The checks made before anything is written at an output path (design: outputs never
/// destroy what the user did not ask to replace).
public enum OutputCheck {
    /// Throws unless an output file of `kind` may be written at `path`: nothing is there,
    /// or an empty file, or a regular file of the same kind (of any kind with `.anyKind`).
    /// Never a folder, a device or a pipe, and never one of `inputs`.
    ///
    /// - Throws: `CorpusError` with code `.refused` (never replaceable) or `.exists` (a file
    ///   of another kind, replaceable with `.anyKind`), or `.io` when the folder it would go
    ///   in does not exist.
    public static func file(_ path: String, kind: OutputKind, replacing: ReplacePolicy = .sameKind,
                            inputs: [String] = []) throws {
        guard let info = status(of: path) else {
            try requireParentFolder(of: path)
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR:
            throw CorpusError(code: .refused, file: path, message:
                "is a folder; expected the name of a \(kind) file to write (nothing was written)")
        default:
            throw CorpusError(code: .refused, file: path, message:
                "is not a regular file (a device, pipe or socket); expected the name of a \(kind) file to write")
        }
        try refuseInputs(path, info, inputs)
        if info.st_size == 0 || kind.recognizes(file: path) || replacing == .anyKind { return }
        throw CorpusError(code: .exists, file: path, message:
            "exists and is not a \(kind); it was left as it is. Choose another output name or move it away")
    }

    /// Throws when `path` is the same file or folder as one of `inputs`.
    public static func refuseInputs(_ path: String, inputs: [String]) throws {
        guard let info = status(of: path) else { return }
        try refuseInputs(path, info, inputs)
    }

    private static func refuseInputs(_ path: String, _ info: stat, _ inputs: [String]) throws {
        for input in inputs {
            guard let other = status(of: input) else { continue }
            if other.st_dev == info.st_dev && other.st_ino == info.st_ino {
                throw CorpusError(code: .refused, file: path, message:
                    "is also an input of this command (\(input)); write the output under another name")
            }
        }
    }

    /// Throws `.io` when the folder that would hold `path` does not exist.
    public static func requireParentFolder(of path: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        let folder = parent.isEmpty ? "." : parent
        guard let info = status(of: folder) else {
            throw CorpusError(code: .io, file: path, message: "cannot write: the folder '\(folder)' does not exist")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw CorpusError(code: .io, file: path, message: "cannot write: '\(folder)' is not a folder")
        }
    }

    /// `stat` of `path` (following symbolic links), or nil when nothing is there.
    static func status(of path: String) -> stat? {
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }
}

/// Up to `count` bytes from the start of `path`, decompressed for `.gz` and `.bz2`.
func leadingBytes(of path: String, count: Int) throws -> [UInt8] {
    try PeekedReader(try ByteSource(path: path), count: count).head
}
