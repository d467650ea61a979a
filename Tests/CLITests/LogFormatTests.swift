import Latent
import Synchronization
import Testing

@Suite("gensim-style logging")
struct LogFormatTests {
    @Test("lines read 'YYYY-MM-DD HH:MM:SS,mmm : LEVEL : message'")
    func format() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "test") { _ in
            GensimStyleLogHandler(level: .debug) { line in lines.withLock { $0.append(line) } }
        }
        logger.info("processed documents up to #20000")
        logger.warning("careful")
        logger.debug("detail", metadata: ["chunk": "3"])
        logger.logLevel = .warning
        logger.info("dropped")
        let captured = lines.withLock { $0 }
        #expect(captured.count == 3)
        let pattern = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} : (INFO|WARNING|DEBUG) : .*\n$/
        for line in captured { #expect(line.wholeMatch(of: pattern) != nil, "\(line)") }
        #expect(captured[0].hasSuffix(" : INFO : processed documents up to #20000\n"))
        #expect(captured[1].contains(" : WARNING : careful"))
        #expect(captured[2].hasSuffix(" : DEBUG : detail chunk=3\n"))
    }

    @Test("level names, Python's included")
    func levelNames() {
        #expect(LatentLogging.level(named: "INFO") == .info)
        #expect(LatentLogging.level(named: "warn") == .warning)
        #expect(LatentLogging.level(named: "verbose") == nil)
        #expect(GensimStyleLogHandler.pythonName(of: .critical) == "CRITICAL")
    }
}
