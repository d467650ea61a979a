import Dispatch
import Foundation
import LatentLinearAlgebra
import Synchronization
import Testing

@Suite("BLAS settings", .serialized)
struct BLASTests {
    @Test("the thread count can be set and read back")
    func threads() {
        let original = BLAS.threads
        defer { BLAS.threads = original }
        BLAS.threads = 1
        #expect(BLAS.threads == 1)
        BLAS.threads = 0
        #expect(BLAS.threads == 1, "a count below 1 is clamped")
    }

    @Test("a thread's limit lowers the count it reads, only inside the call and only on that thread; limits nest")
    func limitingThisThread() {
        let original = BLAS.threads
        defer { BLAS.threads = original }
        BLAS.threads = 2
        BLAS.limitingThisThread(to: 1) {
            #expect(BLAS.threads == 1)
            // Another thread meanwhile reads the shared setting.
            let seen = Mutex(0)
            let done = DispatchSemaphore(value: 0)
            Thread {
                seen.withLock { $0 = BLAS.threads }
                done.signal()
            }.start()
            done.wait()
            #expect(seen.withLock { $0 } == 2)
            BLAS.limitingThisThread(to: 4) { #expect(BLAS.threads == 2, "a limit above the shared setting changes nothing") }
            #expect(BLAS.threads == 1, "the outer limit is back after the inner call")
        }
        #expect(BLAS.threads == 2)
        BLAS.limitingThisThread(to: 0) { #expect(BLAS.threads == 1, "a limit below 1 is clamped") }
    }

    @Test("the configuration names OpenBLAS")
    func configuration() {
        #expect(BLAS.configuration.contains("OpenBLAS"))
    }

    @Test("the self-check reaches correct products and small residuals")
    func selfCheck() throws {
        // Small shapes: the check's own (LSI's, in `latent selfcheck`) take half a minute in a debug build.
        let check = try LinearAlgebraSelfCheck.run(size: 64, repeats: 1, sparseShapes: [(terms: 2_000, documents: 500)])
        #expect(check.gemm.count == 2)
        #expect(check.sparse.count == 1 && check.sparse[0].shape.hasPrefix("500x2000 · sparse 2000x500") && check.sparse[0].gflops > 0,
                "\(check.sparse)")
        #expect(check.gemm[0].sampledRelativeError <= 1e-12)
        #expect(check.gemm[1].sampledRelativeError <= 1e-4)
        #expect(check.qrResidual <= 1e-13 && check.svdResidual <= 1e-13)
        #expect(check.report.contains("GFLOPS"))
    }
}
