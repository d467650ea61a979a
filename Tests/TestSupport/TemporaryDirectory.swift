import Foundation
import LatentCorpus

/// A fresh folder under the system's temporary directory, removed when the value is
/// released: the one temporary-folder helper of every test target.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "latent-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    public func write(_ name: String, bytes: [UInt8]) throws -> String {
        let target = file(name)
        let folder = (target as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    public func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    public func text(_ name: String) throws -> String {
        String(decoding: try read(name), as: UTF8.self)
    }

    public func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: file(name))
    }

    /// Every file and folder under `folder` (relative paths; folders end in `/`) with the
    /// contents of the regular files (pipes and other special files are listed, not read):
    /// two snapshots are equal exactly when nothing was added, removed or changed.
    public func snapshot(_ folder: String = "") throws -> [String: [UInt8]] {
        let root = folder.isEmpty ? path : file(folder)
        var result: [String: [UInt8]] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return result }
        while let relative = walker.nextObject() as? String {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isFolder)
            let type = (try? FileManager.default.attributesOfItem(atPath: root + "/" + relative))?[.type] as? FileAttributeType
            if isFolder.boolValue {
                result[relative + "/"] = []
            } else if type != .typeRegular && type != .typeSymbolicLink {
                result[relative] = Array("special file".utf8)
            } else {
                result[relative] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative)))
            }
        }
        return result
    }

    /// The names in `folder` that look like temporaries of outputs (`*.tmp-*`).
    public func temporaries(_ folder: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? path : file(folder))
            .filter { $0.contains(".tmp-") }
    }
}

/// The `CorpusError` that `body` throws, or nil when it throws nothing or something else.
public func corpusError(_ body: () throws -> Void) -> CorpusError? {
    do {
        try body()
        return nil
    } catch let error as CorpusError {
        return error
    } catch {
        return nil
    }
}
