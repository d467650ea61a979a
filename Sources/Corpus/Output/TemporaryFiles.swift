import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The temporary files and folders of the outputs being written by this process.
///
/// Every output is first written under a temporary name beside its destination and renamed
/// into place when complete. Those names are registered here, so that a command stopped by
/// SIGINT or SIGTERM removes them (`removeAllForExit`, called by the command line's signal
/// handler) and leaves neither a partial output nor a stray temporary file.
///
/// Creating a temporary and renaming it into place both happen while holding the registry,
/// and so does the removal on interruption: an interruption sees every output either not
/// yet in place (its temporary is removed) or wholly in place (nothing of it is removed).
public enum TemporaryFiles {
    private struct State {
        var paths: Set<String> = []
        var interrupted = false
    }

    private static let state = Mutex(State())

    /// A fresh name beside `path` for its temporary: `PATH.tmp-PID-RANDOM`.
    public static func name(beside path: String) -> String {
        path + ".tmp-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    /// Registers `path`, then runs `create`, which makes it, while holding the registry.
    /// - Throws: `CorpusError` (code `.io`) once the process has been interrupted.
    public static func create<T>(_ path: String, _ create: () throws -> T) throws -> T {
        try state.withLock { state throws -> T in
            guard !state.interrupted else {
                throw CorpusError(code: .io, file: path, message: "not created: the command was interrupted")
            }
            state.paths.insert(path)
            do {
                return try create()
            } catch {
                state.paths.remove(path)
                throw error
            }
        }
    }

    /// Runs `body`, which moves `temporaries` into place, while holding the registry, then
    /// forgets them: an interruption waits for every move to finish.
    /// - Throws: `CorpusError` (code `.io`) once the process has been interrupted.
    public static func moveIntoPlace(_ temporaries: [String], _ body: () throws -> Void) throws {
        try state.withLock { state throws in
            guard !state.interrupted else {
                throw CorpusError(code: .io, file: temporaries.first ?? "output",
                                  message: "not moved into place: the command was interrupted")
            }
            defer { for path in temporaries { state.paths.remove(path) } }
            try body()
        }
    }

    /// Forgets `path` without touching it (it was moved into place, or never created).
    public static func forget(_ path: String) {
        state.withLock { _ = $0.paths.remove(path) }
    }

    /// Removes `path` (file or folder) and forgets it.
    public static func remove(_ path: String) {
        state.withLock { state in
            removeQuietly(path)
            state.paths.remove(path)
        }
    }

    /// The paths registered now (for tests and diagnostics).
    public static var registered: Set<String> { state.withLock { $0.paths } }

    /// Removes every registered temporary, then calls `exit` while still holding the
    /// registry, so that no output is created or moved into place afterwards. `exit` should
    /// end the process (the command line re-raises the signal); if it returns, the registry
    /// is released and refuses new temporaries from then on.
    ///
    /// - Returns: the paths removed.
    @discardableResult
    public static func removeAllForExit(then exit: ([String]) -> Void = { _ in }) -> [String] {
        state.withLock { state in
            state.interrupted = true
            let removed = state.paths.sorted()
            for path in removed { removeQuietly(path) }
            state.paths.removeAll()
            exit(removed)
            return removed
        }
    }

    /// Removes a file, or a folder with everything in it; ignores what is already gone.
    public static func removeQuietly(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            try? FileManager.default.removeItem(atPath: path)
        } else {
            unlink(path)
        }
    }
}
