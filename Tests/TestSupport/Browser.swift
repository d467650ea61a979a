import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium driven through the DevTools protocol over a pipe
/// (`--remote-debugging-pipe`: commands on the child's fd 3, answers and events on its fd 4,
/// each message JSON ended by a NUL byte), so a test can load a page, type, click, wait for
/// what the page shows and take screenshots, as a person would. The browser is killed when
/// the object goes away.
public final class Browser: @unchecked Sendable {
    private let pid: pid_t
    private let commands: Int32
    private let answers: Int32
    private var pending: [UInt8] = []
    private var nextID = 1
    private var session: String?
    private let profile: String

    /// Debian's chromium, when installed.
    public static var executable: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public init(executable: String, width: Int = 1280, height: Int = 900) throws {
        profile = NSTemporaryDirectory() + "latent-browser-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else { throw ChildProcessError("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                         "--hide-scrollbars", "--remote-debugging-pipe", "--user-data-dir=\(profile)",
                         "--window-size=\(width),\(height)", "about:blank"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let attributes = ShellSpawnAttributes()
        let status = posix_spawn(&child, executable, &actions, &attributes.value, &argv, environ)
        close(toChild[0])
        close(fromChild[1])
        guard status == 0 else {
            close(toChild[1])
            close(fromChild[0])
            throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        pid = child
        commands = toChild[1]
        answers = fromChild[0]
    }

    deinit {
        kill(-pid, SIGKILL)  // chromium and the helpers it started, in the group of its own it was given
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(commands)
        close(answers)
        try? FileManager.default.removeItem(atPath: profile)
    }

    /// Sends a command (to the page once one is open) and returns its result.
    @discardableResult
    public func send(_ method: String, _ parameters: [String: Any] = [:], toPage: Bool = true, timeout: Double = 30) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if toPage, let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ChildProcessError("the browser closed its pipe") }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let reply = try nextMessage(until: deadline, waitingFor: method)
            guard reply["id"] as? Int == id else { continue }  // an event, or another answer
            if let error = reply["error"] as? [String: Any] {
                throw ChildProcessError("\(method): \(error["message"] ?? error)")
            }
            return reply["result"] as? [String: Any] ?? [:]
        }
    }

    private func nextMessage(until deadline: Date, waitingFor method: String) throws -> [String: Any] {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let message = Array(pending[..<end])
                pending.removeSubrange(...end)
                return (try JSONSerialization.jsonObject(with: Data(message))) as? [String: Any] ?? [:]
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw ChildProcessError("the browser did not answer \(method) in time") }
            var descriptor = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(min(remaining, 60) * 1000)) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(answers, &buffer, buffer.count)
            guard n > 0 else { throw ChildProcessError("the browser closed its pipe") }
            pending += buffer[..<n]
        }
    }

    /// Opens `url` in a new page, which later commands go to, and waits for it to load.
    public func open(_ url: String) throws {
        let target = try send("Target.createTarget", ["url": "about:blank"], toPage: false)
        guard let targetID = target["targetId"] as? String else { throw ChildProcessError("no target id: \(target)") }
        let attached = try send("Target.attachToTarget", ["targetId": targetID, "flatten": true], toPage: false)
        guard let sessionID = attached["sessionId"] as? String else { throw ChildProcessError("no session: \(attached)") }
        session = sessionID
        try send("Page.enable")
        try send("Runtime.enable")
        try send("Page.navigate", ["url": url])
        try waitUntil("document.readyState === 'complete'")
    }

    /// The value of a JavaScript expression (a promise is awaited).
    @discardableResult
    public func evaluate(_ expression: String, timeout: Double = 30) throws -> Any? {
        let result = try send("Runtime.evaluate", ["expression": expression, "awaitPromise": true, "returnByValue": true],
                              timeout: timeout)
        if let exception = result["exceptionDetails"] as? [String: Any] {
            let text = (exception["exception"] as? [String: Any])?["description"] ?? exception["text"] ?? exception
            throw ChildProcessError("page script failed: \(text)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Waits until `condition` (a JavaScript expression) holds: checked again on every change
    /// of the page (a MutationObserver), never by sleeping.
    public func waitUntil(_ condition: String, timeout: Double = 20) throws {
        let literal = String(decoding: try JSONSerialization.data(withJSONObject: [condition]), as: UTF8.self)
        try evaluate("""
            new Promise((resolve, reject) => {
              const holds = () => { try { return !!(\(condition)); } catch (e) { return false; } };
              if (holds()) return resolve(true);
              const observer = new MutationObserver(() => { if (holds()) { observer.disconnect(); clearTimeout(timer); resolve(true); } });
              observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
              document.addEventListener("readystatechange", () => { if (holds()) resolve(true); });
              const timer = setTimeout(() => { observer.disconnect(); reject(new Error("timed out waiting for " + \(literal)[0])); }, \(Int(timeout * 1000)));
            })
            """, timeout: timeout + 5)
    }

    /// Clicks the middle of the first element matching `selector`, with real mouse events.
    public func click(_ selector: String) throws {
        let literal = String(decoding: try JSONSerialization.data(withJSONObject: [selector]), as: UTF8.self)
        guard let box = try evaluate("""
            (() => { const e = document.querySelector(\(literal)[0]); if (!e) return null;
                     e.scrollIntoView({ block: "center" }); const r = e.getBoundingClientRect();
                     return [r.left + r.width / 2, r.top + r.height / 2]; })()
            """) as? [Double], box.count == 2 else {
            throw ChildProcessError("nothing on the page matches \(selector)")
        }
        for type in ["mousePressed", "mouseReleased"] {
            try send("Input.dispatchMouseEvent", ["type": type, "x": box[0], "y": box[1], "button": "left", "clickCount": 1])
        }
    }

    /// Types `text` into the focused element, then presses Enter when asked.
    public func type(_ text: String, enter: Bool = false) throws {
        try send("Input.insertText", ["text": text])
        if enter {
            for type in ["keyDown", "keyUp"] {
                try send("Input.dispatchKeyEvent", ["type": type, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
                                                    "nativeVirtualKeyCode": 13, "text": type == "keyDown" ? "\r" : ""])
            }
        }
    }

    /// Saves a PNG of the whole page.
    public func screenshot(to path: String) throws {
        let shot = try send("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let data = (shot["data"] as? String).flatMap({ Data(base64Encoded: $0) }) else {
            throw ChildProcessError("no screenshot data")
        }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
