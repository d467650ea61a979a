import Dispatch
import Foundation
@testable import LatentModels
import Synchronization
import Testing

@Suite("compute threads")
struct ComputeThreadsTests {
    #if os(Linux)
    @Test("a thread that lowers its priority runs at nice 10; the thread that started it keeps its own")
    func lowerThisThreadsPriority() {
        let before = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        let seen = Mutex<(before: Int32, after: Int32)>((0, 0))
        let done = DispatchSemaphore(value: 0)
        Thread {
            let own = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            ComputeThreads.lowerThisThreadsPriority()
            let lowered = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            seen.withLock { $0 = (own, lowered) }
            done.signal()
        }.start()
        done.wait()
        let (own, lowered) = seen.withLock { $0 }
        #expect(own == before)
        #expect(lowered == max(before, 10), "nice 10, or the thread's own if it ran lower already")
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == before)
    }
    #endif
}
