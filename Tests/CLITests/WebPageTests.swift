import Foundation
import Latent
import TestSupport
import Testing

/// The web page of `latent serve`, used in headless Chromium (Debian's `chromium`, which
/// `make test` installs) as a person would: screenshots go to .build/screenshots.
@Suite("web page", .serialized, .timeLimit(.minutes(5)))
struct WebPageTests {
    static var screenshots: String {
        // The binary is in .build/<triple>/debug: the screenshots go beside, in .build.
        let build = URL(fileURLWithPath: CommandLineTests.binary).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let folder = build + "/screenshots"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("search by text, read the results with titles, see a document's topic weights, more like this, the topics; errors are shown")
    func explore() throws {
        let executable = try #require(Browser.executable, "Debian's chromium is not installed (make test installs it)")
        let temporary = try TemporaryDirectory()
        let index = try ServerTests.makeIndex(in: temporary.path)
        let (server, base) = try ServerTests.start(index)
        defer { server.stop() }
        let browser = try Browser(executable: executable)
        try browser.open(base + "/")
        try browser.waitUntil("document.getElementById('info').textContent.includes('9 documents')")
        try browser.waitUntil("document.querySelectorAll('#topics figure.topic').length === 2")
        #expect(try browser.evaluate("document.querySelector('#topics svg.spectrum') !== null") as? Bool == true)
        try browser.screenshot(to: Self.screenshots + "/1-start.png")

        // Type a query and press Enter.
        try browser.click("#query")
        try browser.type("graph minors trees", enter: true)
        try browser.waitUntil("document.querySelectorAll('#results li[data-document]').length > 0")
        let titles = try browser.evaluate("[...document.querySelectorAll('#results li .title')].map(e => e.textContent)") as? [String] ?? []
        let expected = try SimilarityIndex(contentsOf: index)
        let pipeline = try QueryPipeline(index: expected)
        let top = try expected.similar(to: try pipeline.vector(text: "graph minors trees").vector, top: 9)
        #expect(titles == top.map { SimilarityCommandTests.titles[$0.document] }, "\(titles)")
        #expect(try browser.evaluate("document.getElementById('results-heading').textContent") as? String == "Results for “graph minors trees”")
        #expect((try browser.evaluate("document.getElementById('status').textContent") as? String)?.contains("9 results in") == true)

        // A result's topic weights.
        try browser.click("#results li:nth-child(1) .title")
        try browser.waitUntil("document.querySelector('#document svg.bars') !== null")
        #expect(try browser.evaluate("document.querySelector('#document h2').textContent") as? String == SimilarityCommandTests.titles[top[0].document])
        #expect(try browser.evaluate("document.querySelectorAll('#document svg.bars rect').length") as? Int == 2)
        try browser.screenshot(to: Self.screenshots + "/2-results.png")

        // More like the third result.
        let third = top[2].document
        try browser.click("#results li:nth-child(3) .more")
        try browser.waitUntil("document.getElementById('results-heading').textContent.startsWith('More like')")
        try browser.waitUntil("document.querySelector('#results li[data-document]')?.dataset.document === '\(third)'")
        let more = try expected.similar(toDocument: third, top: 9).map { SimilarityCommandTests.titles[$0.document] }
        let shown = try browser.evaluate("[...document.querySelectorAll('#results li .title')].map(e => e.textContent)") as? [String] ?? []
        #expect(shown == more, "\(shown)")
        try browser.screenshot(to: Self.screenshots + "/3-more-like-this.png")

        // An error is shown, not swallowed: the server goes away, then a search.
        server.stop()
        try browser.click("#query")
        try browser.type(" again", enter: true)
        try browser.waitUntil("document.getElementById('error').style.display === 'block'")
        let error = try browser.evaluate("document.getElementById('error').textContent") as? String ?? ""
        #expect(error.contains("The search failed"), "\(error)")
        try browser.screenshot(to: Self.screenshots + "/4-error.png")
    }

    @Test("with a token the page asks for it, then works")
    func token() throws {
        let executable = try #require(Browser.executable, "Debian's chromium is not installed (make test installs it)")
        let temporary = try TemporaryDirectory()
        let index = try ServerTests.makeIndex(in: temporary.path)
        let (server, base) = try ServerTests.start(index, [], environment: ["LATENT_SERVE_TOKEN": "page-token-0123456789"])
        defer { server.stop() }
        let browser = try Browser(executable: executable)
        try browser.open(base + "/")
        try browser.waitUntil("document.getElementById('token-box').style.display === 'flex'")
        #expect((try browser.evaluate("document.getElementById('error').textContent") as? String)?.contains("HTTP 401") == true)
        try browser.click("#token")
        try browser.type("page-token-0123456789", enter: true)
        try browser.waitUntil("document.getElementById('info').textContent.includes('9 documents')")
        try browser.waitUntil("document.getElementById('token-box').style.display === 'none'")
        try browser.screenshot(to: Self.screenshots + "/5-token.png")
    }
}
