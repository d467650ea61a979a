import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The documents of a folder source: every `.txt` file (the extension in any case) in the
/// folder and its subfolders, as paths relative to the folder, in natural order (`2.txt`
/// before `10.txt`, folder by folder). Hidden files and folders (names starting with `.`)
/// are skipped, and so are symbolic links to folders (they could loop); symbolic links to
/// files are followed.
public enum FolderListing {
    /// - Throws: `CorpusError` naming a folder that cannot be listed.
    public static func textFiles(in folder: String) throws -> [String] {
        var found: [String] = []
        try collect(folder, relative: "", into: &found)
        return found.sorted(by: naturalPathLess)
    }

    /// Whether a file name is a text document of a folder source.
    public static func isTextFile(_ name: String) -> Bool {
        name.lowercased().hasSuffix(".txt") && !name.hasPrefix(".")
    }

    private static func collect(_ folder: String, relative: String, into found: inout [String]) throws {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw CorpusError(code: .io, file: folder, message: "cannot list the folder: \(error.localizedDescription)", cause: error)
        }
        for name in entries where !name.hasPrefix(".") {
            let path = folder + "/" + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try collect(path, relative: relativePath, into: &found)
            case S_IFREG:
                if isTextFile(name) { found.append(relativePath) }
            case S_IFLNK:
                var target = stat()
                if isTextFile(name), stat(path, &target) == 0, (target.st_mode & S_IFMT) == S_IFREG {
                    found.append(relativePath)
                }
            default:
                break
            }
        }
    }
}

/// Natural order of relative paths: folder by folder, each name by `naturalLess`.
func naturalPathLess(_ a: String, _ b: String) -> Bool {
    let left = a.split(separator: "/", omittingEmptySubsequences: false)
    let right = b.split(separator: "/", omittingEmptySubsequences: false)
    for (x, y) in zip(left, right) where x != y {
        return naturalLess(String(x), String(y))
    }
    return left.count < right.count
}

/// Natural order of names: runs of ASCII digits compare as numbers (`2` before `10`; on a
/// tie the one with fewer leading zeros first), everything else by Unicode code points, as
/// Python compares strings.
public func naturalLess(_ a: String, _ b: String) -> Bool {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    var i = 0, j = 0
    func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 0x30 && scalar.value <= 0x39 }
    while i < x.count && j < y.count {
        if isDigit(x[i]) && isDigit(y[j]) {
            let startX = i, startY = j
            while i < x.count && isDigit(x[i]) { i += 1 }
            while j < y.count && isDigit(y[j]) { j += 1 }
            let digitsX = x[startX..<i].drop { $0 == "0" }, digitsY = y[startY..<j].drop { $0 == "0" }
            if digitsX.count != digitsY.count { return digitsX.count < digitsY.count }
            for (p, q) in zip(digitsX, digitsY) where p != q { return p.value < q.value }
            if i - startX != j - startY { return i - startX < j - startY }
        } else {
            if x[i] != y[j] { return x[i].value < y[j].value }
            i += 1
            j += 1
        }
    }
    return x.count - i < y.count - j
}

/// `PREFIX.files.tsv`: which file each document of a folder source came from. A header
/// line `document<TAB>file`, then one line per document: its number (0-based, as gensim
/// numbers a corpus's documents) and its path relative to the folder, with `\`, tab and
/// newline written as `\\`, `\t` and `\n`.
public enum DocumentFiles {
    static let header = "document\tfile"

    /// The table that goes with the corpus at `corpusPath`: its name without the corpus
    /// extension, then `.files.tsv` (`docs.mm` -> `docs.files.tsv`).
    public static func companion(of corpusPath: String) -> String {
        for suffix in CorpusFile.outputExtensions.sorted(by: { $0.count > $1.count }) where corpusPath.hasSuffix(suffix) {
            return String(corpusPath.dropLast(suffix.count)) + ".files.tsv"
        }
        return corpusPath + ".files.tsv"
    }

    /// Writes the table of `files` (document i came from `files[i]`) to `path`.
    public static func write(_ files: [String], to path: String, replacing: ReplacePolicy = .sameKind,
                             group: OutputGroup? = nil) throws {
        let file = try AtomicFileWriter(path: path, kind: .documentFiles, replacing: replacing, group: group)
        try file.write(header + "\n")
        for (number, name) in files.enumerated() {
            try file.write("\(number)\t\(escaped(name))\n")
        }
        try file.commit()
    }

    /// Reads a table written by `write`.
    /// - Throws: `CorpusError` naming the line that is not `number<TAB>file` in order.
    public static func read(_ path: String) throws -> [String] {
        let bytes = try readWholeFile(path: path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CorpusError(code: .format, file: path, message: "not valid UTF-8")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard lines.first == Substring(header) else {
            throw CorpusError(code: .format, file: path, line: 1, message: "expected the header 'document<TAB>file'")
        }
        var files: [String] = []
        for (index, line) in lines.enumerated().dropFirst() {
            let fields = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard fields.count == 2, Int(fields[0]) == files.count else {
                throw CorpusError(code: .syntax, file: path, line: index + 1,
                                  message: "expected '\(files.count)<TAB>file name' (documents numbered from 0, in order)")
            }
            files.append(unescaped(String(fields[1])))
        }
        return files
    }

    static func escaped(_ name: String) -> String {
        name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func unescaped(_ field: String) -> String {
        var result = ""
        var escaping = false
        for character in field {
            if escaping {
                result.append(character == "t" ? "\t" : character == "n" ? "\n" : character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
