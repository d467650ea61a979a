import Foundation
import LatentCorpus
import LatentLinearAlgebra

#if canImport(Glibc)
import Glibc
#endif

/// A saved model: a folder with `model.json` (format version, kind, parameters, shapes, and
/// the list of the folder's files) and its arrays as `.npy` files.
///
/// Writing never destroys what the user did not ask to replace: the folder is written as a
/// temporary sibling and moved into place only when complete, and an existing folder at the
/// path is replaced only when it is a model folder of the same kind (of any kind with
/// `ReplacePolicy.anyKind`) holding nothing but the model's own files. A folder with
/// anything else in it, or a file, is never replaced.
public enum ModelFolder {
    public static let formatVersion = 1
    static let metadataFile = "model.json"

    /// Throws unless a model folder of `kind` may be written at `path` (see the type's
    /// documentation).
    /// - Throws: `CorpusError` with code `.refused` (never replaceable), `.exists` (a model of
    ///   another kind, replaceable with `.anyKind`) or `.io` (no folder to write it in).
    public static func checkOutput(_ path: String, kind: String, replacing: ReplacePolicy = .sameKind) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            try OutputCheck.requireParentFolder(of: path)
            return
        }
        guard isFolder.boolValue else {
            throw CorpusError(code: .refused, file: path, message:
                "is a file, not a model folder; it was left as it is. Choose another output folder")
        }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw CorpusError(code: .io, file: path, message: "cannot list the folder: \(error.localizedDescription)", cause: error)
        }
        if entries.isEmpty { return }
        func listed(_ names: [String]) -> String {
            names.count <= 3 ? names.joined(separator: ", ")
                : names.prefix(3).joined(separator: ", ") + " and \(names.count - 3) more"
        }
        guard entries.contains(metadataFile),
              let data = FileManager.default.contents(atPath: path + "/" + metadataFile),
              let metadata = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let existingKind = metadata["kind"] as? String
        else {
            throw CorpusError(code: .refused, file: path, message:
                "is a folder that is not a Latent model (it holds \(listed(entries))); it was left as it is. "
                + "Choose another output folder")
        }
        // The model's own files: as model.json lists them, or (folders from before the list)
        // arrays and the vocabulary.
        let own: (String) -> Bool
        if let files = metadata["files"] as? [String] {
            let names = Set(files + [metadataFile])
            own = { names.contains($0) }
        } else {
            own = { $0 == metadataFile || $0 == "vocab.txt" || $0.hasSuffix(".npy") }
        }
        let foreign = entries.filter { !own($0) }
        guard foreign.isEmpty else {
            throw CorpusError(code: .refused, file: path, message:
                "is a model folder that also holds other files (\(listed(foreign))); it was left as it is. "
                + "Move them away or choose another output folder")
        }
        guard existingKind == kind || replacing == .anyKind else {
            throw CorpusError(code: .exists, file: path, message:
                "holds a model of kind '\(existingKind)', not '\(kind)'; it was left as it is. Choose another output folder")
        }
    }

    /// Writes `metadata` (which names the model's `kind`) and `arrays` (file name without
    /// `.npy` -> array) to the folder `path`, and each of `files` (file name -> a function
    /// writing that path), e.g. a vocabulary.
    /// - Throws: `CorpusError` when `path` may not be replaced (see `checkOutput`) or on a
    ///   write error; the destination is then as it was.
    public static func write(to path: String, metadata: [String: Any], arrays: [String: NumPyArray],
                             files: [String: (String) throws -> Void] = [:], replacing: ReplacePolicy = .sameKind) throws {
        guard let kind = metadata["kind"] as? String else {
            throw CorpusError(code: .format, file: path + "/" + metadataFile, message: "field 'kind': expected a string")
        }
        try checkOutput(path, kind: kind, replacing: replacing)
        let fileManager = FileManager.default
        let temporary = TemporaryFiles.name(beside: path)
        do {
            try TemporaryFiles.create(temporary) {
                try fileManager.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            }
        } catch let error as CorpusError {
            throw error
        } catch {
            TemporaryFiles.forget(temporary)
            throw CorpusError(code: .io, file: path, message: "cannot create the temporary folder \(temporary): \(error.localizedDescription)", cause: error)
        }
        do {
            var document = metadata
            document["format_version"] = formatVersion
            document["files"] = (arrays.keys.map { $0 + ".npy" } + files.keys).sorted()
            let json = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            try json.write(to: URL(fileURLWithPath: temporary + "/" + metadataFile))
            // The files side by side, each syncing to the disk while the others are written (a
            // model's basis, 32 MB to hundreds, and its vocabulary); the first failing file in
            // name order is the error.
            let writers: [() throws -> Void] = arrays.sorted { $0.key < $1.key }.map { name, array in
                { try array.write(to: temporary + "/\(name).npy") }
            } + files.sorted { $0.key < $1.key }.map { name, writeFile in { try writeFile(temporary + "/" + name) } }
            try concurrentlyThrowing(workers: writers.count) { try writers[$0]() }
            try checkOutput(path, kind: kind, replacing: replacing)
            try TemporaryFiles.moveIntoPlace([temporary]) { try swapIntoPlace(temporary, path) }
        } catch let error as CorpusError {
            TemporaryFiles.remove(temporary)
            throw error
        } catch {
            TemporaryFiles.remove(temporary)
            throw CorpusError(code: .io, file: path, message: "cannot write the model folder: \(error.localizedDescription)", cause: error)
        }
    }

    /// Moves the folder `temporary` to `path`. An existing folder at `path` (already checked)
    /// is exchanged with it atomically where the system can (Linux's renameat2), else moved
    /// aside first; either way the old folder is then removed.
    static func swapIntoPlace(_ temporary: String, _ path: String) throws {
        func fail(_ what: String) -> CorpusError {
            CorpusError(code: .io, file: path, message: "cannot \(what): \(String(cString: strerror(errno)))")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            guard rename(temporary, path) == 0 else { throw fail("move \(temporary) into place") }
            return
        }
        if exchange(temporary, path) {
            TemporaryFiles.removeQuietly(temporary)  // now the old folder
            return
        }
        let aside = TemporaryFiles.name(beside: path)
        guard rename(path, aside) == 0 else { throw fail("move the old folder aside") }
        guard rename(temporary, path) == 0 else {
            let failure = fail("move \(temporary) into place")
            rename(aside, path)
            throw failure
        }
        TemporaryFiles.removeQuietly(aside)
    }

    /// Exchanges two paths atomically with Linux's `renameat2(RENAME_EXCHANGE)`, looked up at
    /// run time (Swift's Glibc module does not declare it); false where it is unavailable.
    private static func exchange(_ first: String, _ second: String) -> Bool {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let renameExchange: UInt32 = 1 << 1
        let atCurrentDirectory: Int32 = -100
        return renameat2(atCurrentDirectory, first, atCurrentDirectory, second, renameExchange) == 0
    }

    /// Reads `model.json`, checking the format version and that `kind` is `expectedKind`.
    public static func readMetadata(at path: String, expectedKind: String) throws -> [String: Any] {
        let metadata = try readMetadata(at: path)
        guard let kind = metadata["kind"] as? String, kind == expectedKind else {
            throw CorpusError(code: .format, file: path + "/" + metadataFile,
                              message: "field 'kind': expected '\(expectedKind)', found '\(metadata["kind"] ?? "nothing")'")
        }
        return metadata
    }

    /// The kind of model a folder holds ("lsi", "lda", "tfidf"), from its `model.json`.
    public static func kind(at path: String) throws -> String {
        guard let kind = try readMetadata(at: path)["kind"] as? String else {
            throw CorpusError(code: .format, file: path + "/" + metadataFile, message: "field 'kind': expected a string")
        }
        return kind
    }

    /// Reads `model.json`, checking the format version.
    private static func readMetadata(at path: String) throws -> [String: Any] {
        let file = path + "/" + metadataFile
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(readWholeFile(path: file)))
        } catch let error as CorpusError {
            throw error
        } catch {
            throw CorpusError(code: .format, file: file, message: "not valid JSON")
        }
        guard let metadata = object as? [String: Any] else {
            throw CorpusError(code: .format, file: file, message: "expected a JSON object")
        }
        guard let version = metadata["format_version"] as? Int else {
            throw CorpusError(code: .format, file: file, message: "field 'format_version': expected an integer")
        }
        guard version == formatVersion else {
            throw CorpusError(code: .format, file: file, message: "field 'format_version': version \(version) is not supported; expected \(formatVersion)")
        }
        return metadata
    }

    /// An integer field of `model.json`, or a clear error.
    public static func integer(_ metadata: [String: Any], _ name: String, in path: String) throws -> Int {
        guard let value = metadata[name] as? Int else {
            throw CorpusError(code: .format, file: path + "/model.json", message: "field '\(name)': expected an integer")
        }
        return value
    }

    /// A string field of `model.json`, or a clear error.
    public static func string(_ metadata: [String: Any], _ name: String, in path: String) throws -> String {
        guard let value = metadata[name] as? String else {
            throw CorpusError(code: .format, file: path + "/model.json", message: "field '\(name)': expected a string")
        }
        return value
    }

    /// `name.npy` of the folder, checked to have `shape`.
    public static func array(_ name: String, in path: String, shape: [Int]) throws -> NumPyArray {
        let file = path + "/\(name).npy"
        let array = try NumPyArray(contentsOf: file)
        guard array.shape == shape else {
            throw CorpusError(code: .inconsistent, file: file, message: "shape \(array.shape); model.json says \(shape)")
        }
        return array
    }
}
