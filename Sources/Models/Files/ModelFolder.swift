import Foundation
import LatentCorpus

/// A saved model: a folder with `model.json` (format version, kind, parameters, shapes) and
/// its arrays as `.npy` files. Written to a temporary folder and renamed into place.
public enum ModelFolder {
    public static let formatVersion = 1

    /// Writes `metadata` and `arrays` (file name without `.npy` -> array) to `path`, and
    /// each of `files` (file name -> a function writing that path), e.g. a vocabulary.
    public static func write(to path: String, metadata: [String: Any], arrays: [String: NumPyArray],
                             files: [String: (String) throws -> Void] = [:]) throws {
        let fileManager = FileManager.default
        let temporary = path + ".tmp-\(getpid())"
        try? fileManager.removeItem(atPath: temporary)
        do {
            try fileManager.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            var document = metadata
            document["format_version"] = formatVersion
            let json = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
            try json.write(to: URL(fileURLWithPath: temporary + "/model.json"))
            for (name, array) in arrays { try array.write(to: temporary + "/\(name).npy") }
            for (name, writeFile) in files { try writeFile(temporary + "/" + name) }
            if fileManager.fileExists(atPath: path) { try fileManager.removeItem(atPath: path) }
            try fileManager.moveItem(atPath: temporary, toPath: path)
        } catch let error as CorpusError {
            try? fileManager.removeItem(atPath: temporary)
            throw error
        } catch {
            try? fileManager.removeItem(atPath: temporary)
            throw CorpusError(code: .io, file: path, message: "cannot write the model folder: \(error.localizedDescription)")
        }
    }

    /// Reads `model.json`, checking the format version and that `kind` is `expectedKind`.
    public static func readMetadata(at path: String, expectedKind: String) throws -> [String: Any] {
        let file = path + "/model.json"
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
        guard let kind = metadata["kind"] as? String, kind == expectedKind else {
            throw CorpusError(code: .format, file: file, message: "field 'kind': expected '\(expectedKind)', found '\(metadata["kind"] ?? "nothing")'")
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
