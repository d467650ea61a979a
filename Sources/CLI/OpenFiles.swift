import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The servers (the dispatcher, the query server) hold a descriptor per connection: the
/// common soft limit of 1,024 is reached by a thousand idle connections, after which the
/// process cannot accept, open or map anything. They raise it to the hard limit at start.
enum OpenFiles {
    static func raiseLimit(logger: Logger) {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let before = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.info("open files: soft limit raised from \(before) to \(limit.rlim_max)")
        } else {
            logger.warning("open files: the soft limit stays \(before) (\(String(cString: strerror(errno)))); each connection holds one")
        }
        #endif
    }
}
