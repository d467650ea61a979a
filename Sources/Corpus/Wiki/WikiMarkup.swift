// gensim 4.4's removal of wiki markup (`gensim.corpora.wikicorpus.filter_wiki` with its
// defaults), reproduced step by step on code points so that the text left, and so the tokens,
// are gensim's. gensim does it with regular expressions; each is matched here by a scanner
// that gives the same matches as Python's backtracking engine does for that pattern, and its
// comment says why. The patterns are quoted as gensim writes them.
//
// Where gensim's output keeps markup, this keeps it too by default: the point is gensim's
// tokens. With `clean`, three known defects are fixed (see `plainText`).

/// Wiki markup to plain text, exactly as gensim's `filter_wiki` does it, or cleaner.
public enum WikiMarkup {
    /// gensim's `filter_wiki(text)`: HTML entities decoded, then `remove_markup`.
    ///
    /// With `clean`, three defects of gensim's are fixed, and the text (and tokens) then
    /// differ from gensim's:
    /// - `<br/>`, `<br />` and `<nowiki/>` are removed before references are, so that a
    ///   reference holding one is removed whole (gensim issue #3520: its `<ref ...(</ref>|/>)`
    ///   stops at the first `/>` and leaves the rest of the reference, URLs and all).
    /// - Attributes written `name="value"` (table and tag styling such as
    ///   `class="wikitable" style="text-align: center"`) are removed (gensim issue #1710).
    /// - Heading markers (`== See also ==`) are removed, the heading's words kept (gensim
    ///   issue #2561).
    public static func plainText(_ text: [UInt32], clean: Bool = false) -> [UInt32] {
        removeMarkup(decodeEntities(text), clean: clean)
    }

    /// gensim's `remove_markup(text)` with `promote_remaining` and `simplify_links`; with
    /// `clean`, the fixes `plainText` lists.
    static func removeMarkup(_ input: [UInt32], clean: Bool = false) -> [UInt32] {
        var text = removeLanguageLinks(input)
        text = removeTemplates(text)
        text = removeFiles(text)
        // Markup nests; gensim strips it in rounds, inner first, until nothing changes or
        // after three rounds.
        for _ in 0..<3 {
            let old = text
            if clean {
                for tag in Chars.selfClosingTags { text = replace(text, tag, with: []) }
            }
            text = substitute(text, at: Chars.less, matchComment)
            text = substitute(text, at: Chars.less) { matchTag($0, $1, name: Chars.ref) }
            text = substitute(text, at: Chars.less) { matchTag($0, $1, name: Chars.nowiki) }
            text = substitute(text, at: Chars.less) { matchTag($0, $1, name: Chars.math) }
            text = substitute(text, at: Chars.less, matchAnyTag)
            text = substitute(text, at: Chars.open, matchCategory)
            text = substitute(text, at: Chars.open, matchExternalLink)
            text = substitute(text, at: Chars.open, matchPipedLink)
            text = replace(text, Chars.twoBangs, with: Chars.newlinePipe)
            text = replace(text, Chars.rowThenCells, with: Chars.newlinePipe)
            text = substitute(text, at: Chars.openBrace, or: Chars.pipe, matchTableLine)
            text = replace(text, Chars.threePipes, with: Chars.pipeNewlinePipe)
            text = replace(text, Chars.twoPipes, with: Chars.newlinePipe)
            text = substitute(text, at: Chars.pipe, or: Chars.bang, matchTableCell)
            text = substitute(text, at: Chars.newline, alsoAtStart: true, matchTableAttributes)
            text = replace(text, Chars.emptyBrackets, with: [])
            if clean { text = removeAttributes(text) }
            if text == old { break }
        }
        if clean { text = removeHeadingMarkers(text) }
        return text.filter { $0 != Chars.open && $0 != Chars.close }
    }

    /// For `clean`: removes attributes written `name="value"` (a name of ASCII letters,
    /// digits and hyphens; a value on one line).
    static func removeAttributes(_ s: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard isAttributeNameCharacter(s[i]), i == 0 || !isAttributeNameCharacter(s[i - 1]) else {
                result.append(s[i])
                i += 1
                continue
            }
            var j = i
            while j < s.count, isAttributeNameCharacter(s[j]) { j += 1 }
            if j + 1 < s.count, s[j] == Chars.equals, s[j + 1] == Chars.quote {
                var k = j + 2
                while k < s.count, s[k] != Chars.quote, s[k] != Chars.newline { k += 1 }
                if k < s.count, s[k] == Chars.quote {
                    i = k + 1
                    continue
                }
            }
            result.append(contentsOf: s[i..<j])
            i = j
        }
        return result
    }

    private static func isAttributeNameCharacter(_ c: UInt32) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == Chars.hyphen
    }

    /// For `clean`: the `=` runs that open and close a heading line (`== Heading ==`)
    /// removed, its words kept.
    static func removeHeadingMarkers(_ s: [UInt32]) -> [UInt32] {
        var lines = s.split(separator: Chars.newline, omittingEmptySubsequences: false)
        for (n, line) in lines.enumerated() {
            let trimmed = line.drop { $0 == Chars.space }.reversed().drop { $0 == Chars.space }.reversed()
            guard trimmed.count >= 2, trimmed.first == Chars.equals, trimmed.last == Chars.equals else { continue }
            lines[n] = ArraySlice(trimmed.drop { $0 == Chars.equals }.reversed().drop { $0 == Chars.equals }.reversed())
        }
        return Array(lines.joined(separator: [Chars.newline]))
    }

    // MARK: - Steps before the rounds

    /// `re.sub(r'(\n\[\[[a-z][a-z][\w-]*:[^:\]]+\]\])+$', '', text)`: the interlanguage
    /// links that end the text. Without MULTILINE, `$` is the end or just before a final
    /// newline, so a match is a chain of links from its start to there; the leftmost such
    /// start is removed (the greedy `+` takes the whole chain, and a shorter one cannot
    /// end at `$`).
    static func removeLanguageLinks(_ text: [UInt32]) -> [UInt32] {
        let n = text.count
        // Where the chain must end: the end, or before a final newline.
        func atEnd(_ i: Int) -> Bool { i == n || (i == n - 1 && text[i] == Chars.newline) }
        // The end of one link starting at `i`, or nil.
        func link(at i: Int) -> Int? {
            guard i + 3 < n, text[i] == Chars.newline, text[i + 1] == Chars.open, text[i + 2] == Chars.open else { return nil }
            var j = i + 3
            guard j + 1 < n, isLowerASCII(text[j]), isLowerASCII(text[j + 1]) else { return nil }
            j += 2
            while j < n, PythonText.isWord(text[j]) || text[j] == Chars.hyphen { j += 1 }
            guard j < n, text[j] == Chars.colon else { return nil }
            j += 1
            let start = j
            while j < n, text[j] != Chars.colon, text[j] != Chars.close { j += 1 }
            guard j > start, j + 1 < n, text[j] == Chars.close, text[j + 1] == Chars.close else { return nil }
            return j + 2
        }
        // Whether a chain from `i` reaches the end. A chain that fails fails from every link
        // it went through too, so each place is walked once.
        var failed = Set<Int>()
        func chain(from start: Int) -> Bool {
            var walked: [Int] = []
            var i = start
            while !failed.contains(i), let end = link(at: i) {
                if atEnd(end) { return true }
                walked.append(i)
                i = end
            }
            failed.insert(i)
            failed.formUnion(walked)
            return false
        }
        var i = 0
        while i < n {
            if text[i] == Chars.newline, chain(from: i) {
                // The chain runs to the end, or to a final newline, which stays.
                return Array(text[..<i]) + (text.last == Chars.newline ? [Chars.newline] : [])
            }
            i += 1
        }
        return text
    }

    /// gensim's `remove_template`: from each `{{`, to where as many `}` have been seen as `{`
    /// (counting the two that open it), is dropped; an unclosed one runs to the end.
    static func removeTemplates(_ s: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(s.count)
        var opened = 0, closed = 0
        var inTemplate = false
        var previous: UInt32? = nil
        var keptFrom = 0
        for (i, c) in s.enumerated() {
            if !inTemplate, c == Chars.openBrace, previous == c {
                // The template starts at the `{` before this one.
                result.append(contentsOf: s[keptFrom..<(i - 1)])
                inTemplate = true
                opened = 1
            }
            if inTemplate {
                if c == Chars.openBrace { opened += 1 } else if c == Chars.closeBrace { closed += 1 }
                if opened == closed {
                    inTemplate = false
                    opened = 0
                    closed = 0
                    keptFrom = i + 1
                }
            }
            previous = c
        }
        if !inTemplate { result.append(contentsOf: s[keptFrom...]) }
        return result
    }

    /// gensim's `remove_file`: each match of `\[\[([fF]ile:|[iI]mage)[^]]*(\]\])` in the
    /// original text (the greedy class stops at the first `]`, which must start `]]`)
    /// replaces the first occurrence of its own text in the current text by its caption, the
    /// part after the last `|` (`m[:-2].split('|')[-1]`).
    static func removeFiles(_ original: [UInt32]) -> [UInt32] {
        var s = original
        let n = original.count
        var i = 0
        while i + 1 < n {
            guard original[i] == Chars.open, original[i + 1] == Chars.open,
                  let prefix = filePrefixLength(original, at: i + 2) else { i += 1; continue }
            var j = i + 2 + prefix
            while j < n, original[j] != Chars.close { j += 1 }
            guard j + 1 < n, original[j + 1] == Chars.close else { i += 1; continue }
            let match = original[i..<(j + 2)]
            let inner = original[i..<j]
            let caption = inner.lastIndex(of: Chars.pipe).map { inner[($0 + 1)...] } ?? inner
            s = replace(s, Array(match), with: Array(caption), limit: 1)
            i = j + 2
        }
        return s
    }

    private static func filePrefixLength(_ s: [UInt32], at i: Int) -> Int? {
        if starts(s, at: i, with: Chars.ile, firstOf: (0x46, 0x66)) { return 5 }
        if starts(s, at: i, with: Chars.mage, firstOf: (0x49, 0x69)) { return 5 }
        return nil
    }

    // MARK: - Matchers of the rounds: (text, position) -> (end, replacement) or nil

    typealias Match = (end: Int, replacement: ArraySlice<UInt32>)

    /// `<!--.*?-->` (DOTALL): to the first `-->` after the opening.
    static func matchComment(_ s: [UInt32], _ i: Int) -> Match? {
        guard starts(s, at: i, with: Chars.commentOpen), let end = find(Chars.commentClose, in: s, from: i + 4) else { return nil }
        return (end + 3, [])
    }

    /// `<NAME([> ].*?)(</NAME>|/>)` (DOTALL), for `ref`, `nowiki` and `math`: `<NAME`, a `>`
    /// or a space, then to the first `</NAME>` or `/>`, whichever comes first (they cannot
    /// start at the same place).
    static func matchTag(_ s: [UInt32], _ i: Int, name: [UInt32]) -> Match? {
        let after = i + 1 + name.count
        guard s[i] == Chars.less, after < s.count, starts(s, at: i + 1, with: name),
              s[after] == Chars.greater || s[after] == Chars.space else { return nil }
        let closing = [Chars.less, Chars.slash] + name + [Chars.greater]
        var j = after + 1
        while j < s.count {
            if s[j] == Chars.less, starts(s, at: j, with: closing) { return (j + closing.count, []) }
            if s[j] == Chars.slash, j + 1 < s.count, s[j + 1] == Chars.greater { return (j + 2, []) }
            j += 1
        }
        return nil
    }

    /// `<(.*?)>` (DOTALL): to the first `>`.
    static func matchAnyTag(_ s: [UInt32], _ i: Int) -> Match? {
        guard s[i] == Chars.less, let end = s[(i + 1)...].firstIndex(of: Chars.greater) else { return nil }
        return (end + 1, [])
    }

    /// `\[\[Category:[^][]*\]\]`: the run of characters other than brackets must end in `]]`.
    static func matchCategory(_ s: [UInt32], _ i: Int) -> Match? {
        guard s[i] == Chars.open, starts(s, at: i, with: Chars.categoryOpen) else { return nil }
        var j = i + Chars.categoryOpen.count
        while j < s.count, s[j] != Chars.open, s[j] != Chars.close { j += 1 }
        guard j + 1 < s.count, s[j] == Chars.close, s[j + 1] == Chars.close else { return nil }
        return (j + 2, [])
    }

    /// `\[(\w+):\/\/(.*?)(( (.*?))|())\]` replaced by group 3, without DOTALL. After
    /// `[scheme://`, the lazy group stops at the first space or `]` of the line: at a `]` the
    /// link ends with no description; at a space the description runs, space included, to
    /// the next `]` of the line. No `]` before the line ends: no match.
    static func matchExternalLink(_ s: [UInt32], _ i: Int) -> Match? {
        guard s[i] == Chars.open else { return nil }
        var j = i + 1
        while j < s.count, PythonText.isWord(s[j]) { j += 1 }
        guard j > i + 1, starts(s, at: j, with: Chars.schemeSeparator) else { return nil }
        j += 3
        while j < s.count, s[j] != Chars.newline {
            if s[j] == Chars.close { return (j + 1, []) }
            if s[j] == Chars.space {
                var k = j + 1
                while k < s.count, s[k] != Chars.newline, s[k] != Chars.close { k += 1 }
                guard k < s.count, s[k] == Chars.close else { return nil }
                return (k + 1, s[j..<k])
            }
            j += 1
        }
        return nil
    }

    /// `\[([^][]*)\|([^][]*)\]` replaced by group 2: the run after `[` without brackets must
    /// be closed by `]` and hold a `|`; the greedy first group takes it to its last `|`.
    static func matchPipedLink(_ s: [UInt32], _ i: Int) -> Match? {
        guard s[i] == Chars.open else { return nil }
        var j = i + 1
        var lastPipe: Int? = nil
        while j < s.count, s[j] != Chars.open, s[j] != Chars.close {
            if s[j] == Chars.pipe { lastPipe = j }
            j += 1
        }
        guard j < s.count, s[j] == Chars.close, let pipe = lastPipe else { return nil }
        return (j + 1, s[(pipe + 1)..<j])
    }

    /// `(({\|)|(\|-(?!\d))|(\|}))(.*?)(?=\n)` replaced by a newline: a table's opening, row
    /// separator (not followed by a digit) or closing, to the end of its line; the lookahead
    /// needs that line to end in a newline.
    static func matchTableLine(_ s: [UInt32], _ i: Int) -> Match? {
        guard i + 1 < s.count else { return nil }
        let a = s[i], b = s[i + 1]
        let opens = (a == Chars.openBrace && b == Chars.pipe)
            || (a == Chars.pipe && b == Chars.hyphen && !(i + 2 < s.count && PythonText.isDecimal(s[i + 2])))
            || (a == Chars.pipe && b == Chars.closeBrace)
        guard opens, let end = s[(i + 2)...].firstIndex(of: Chars.newline) else { return nil }
        return (end, Chars.newlineSlice)
    }

    /// `(?<=(\n[ ])|(\n\n)|([ ]{2})|(.\n)|(.\t))(\||\!)([^[\]\n]*?\|)*` replaced by a newline.
    /// The lookbehind reads the two characters before (of the text being searched, not of
    /// the result): a newline last, two spaces or a newline and a space, or a tab after a
    /// character that is not a newline. Then `|` or `!`, and as many segments ending in `|`
    /// as follow without a bracket or newline (the lazy run takes each to its first `|`).
    static func matchTableCell(_ s: [UInt32], _ i: Int) -> Match? {
        guard i >= 2, s[i] == Chars.pipe || s[i] == Chars.bang else { return nil }
        let a = s[i - 2], b = s[i - 1]
        let behind = b == Chars.newline
            || (b == Chars.space && (a == Chars.newline || a == Chars.space))
            || (b == Chars.tab && a != Chars.newline)
        guard behind else { return nil }
        var end = i + 1
        var j = end
        while j < s.count {
            let c = s[j]
            if c == Chars.pipe {
                end = j + 1
            } else if c == Chars.open || c == Chars.close || c == Chars.newline {
                break
            }
            j += 1
        }
        return (end, Chars.newlineSlice)
    }

    /// `(\n.{0,4}(K)(.*))|(^.{0,2}(K')(.*))` replaced by a newline, where K is `bgcolor`,
    /// `\d{0,1}[ ]?colspan`, `rowspan`, `style=`, `class=`, `align=` or `scope=` and K' the
    /// same without `scope=`: a line whose first few characters hold a table attribute, from
    /// its preceding newline to its end; `^` (no MULTILINE) is the start of the text only.
    /// Which of the `.{0,n}` lengths matches does not change the match's end (the line's end).
    static func matchTableAttributes(_ s: [UInt32], _ i: Int) -> Match? {
        func lineEnd(_ j: Int) -> Int { s[j...].firstIndex(of: Chars.newline) ?? s.count }
        func attribute(at start: Int, lead: Int, scope: Bool) -> Bool {
            for skip in stride(from: lead, through: 0, by: -1) {
                let q = start + skip
                guard q <= s.count, !s[start..<q].contains(Chars.newline) else { continue }
                if keyword(s, at: q, scope: scope) { return true }
            }
            return false
        }
        if s[i] == Chars.newline, attribute(at: i + 1, lead: 4, scope: true) { return (lineEnd(i + 1), Chars.newlineSlice) }
        if i == 0, attribute(at: 0, lead: 2, scope: false) { return (lineEnd(0), Chars.newlineSlice) }
        return nil
    }

    private static func keyword(_ s: [UInt32], at q: Int, scope: Bool) -> Bool {
        guard q < s.count else { return false }
        for word in Chars.attributes where starts(s, at: q, with: word) { return true }
        if scope, starts(s, at: q, with: Chars.scope) { return true }
        // `\d{0,1}[ ]?colspan`
        var j = q
        if PythonText.isDecimal(s[j]) { j += 1 }
        if j < s.count, s[j] == Chars.space { j += 1 }
        return starts(s, at: j, with: Chars.colspan)
    }

    // MARK: - Entities

    /// gensim's `decode_htmlentities`: `&(#?)([xX]?)(\w{1,8});` replaced by the character it
    /// names, by decimal or hex number (any script's digits, as Python's `int` reads them) or
    /// by HTML 4 name; left as it is when the name is unknown or the number is no character.
    /// The optional parts give back what they took when the rest fails, so `&#x12345678;`
    /// is tried as hex `12345678`, and `&#xABCDEFGH1;` as the decimal `xABCDEFGH1`, which
    /// is too long.
    static func decodeEntities(_ s: [UInt32]) -> [UInt32] {
        substitute(s, at: Chars.ampersand) { s, i in
            func isX(_ j: Int) -> Bool { j < s.count && (s[j] == 0x78 || s[j] == 0x58) }
            let hash = i + 1 < s.count && s[i + 1] == Chars.hash
            // The ways to read it, in the order Python's backtracking tries them.
            var readings: [(hash: Bool, x: Bool)] = []
            if hash {
                if isX(i + 2) { readings.append((true, true)) }
                readings.append((true, false))
            } else {
                if isX(i + 1) { readings.append((false, true)) }
                readings.append((false, false))
            }
            for reading in readings {
                let start = i + 1 + (reading.hash ? 1 : 0) + (reading.x ? 1 : 0)
                var j = start
                while j < s.count, j - start < 8, PythonText.isWord(s[j]) { j += 1 }
                // The greedy run gives back only word characters, which are not `;`.
                guard j > start, j < s.count, s[j] == Chars.semicolon else { continue }
                let entity = s[start..<j]
                let value = reading.hash ? PythonText.integer(entity, base: reading.x ? 16 : 10) : namedEntity(entity)
                if let value, value <= 0x10FFFF { return (j + 1, [UInt32(value)]) }
                return (j + 1, s[i...j])
            }
            return nil
        }
    }

    private static func namedEntity(_ entity: ArraySlice<UInt32>) -> Int? {
        guard entity.allSatisfy({ $0 < 0x80 }) else { return nil }
        let key = String(decoding: entity.map { UInt8($0) }, as: UTF8.self)
        return PythonText.htmlEntities[key].map(Int.init)
    }

    // MARK: - Scanning

    /// `re.sub` with a matcher that never matches empty text: left to right, each match
    /// replaced, the search going on after it. The matcher is tried only where the text has
    /// `first` or `second` (every match starts with one of them), and at the start when
    /// `alsoAtStart`.
    static func substitute(_ s: [UInt32], at first: UInt32, or second: UInt32? = nil, alsoAtStart: Bool = false,
                           _ match: ([UInt32], Int) -> Match?) -> [UInt32] {
        var result: [UInt32] = []
        var i = 0, keptFrom = 0
        let other = second ?? first
        while i < s.count {
            if !(alsoAtStart && i == 0) {
                // The next place a match can start.
                i = s.withUnsafeBufferPointer { text in
                    var j = i
                    while j < text.count, text[j] != first, text[j] != other { j += 1 }
                    return j
                }
                guard i < s.count else { break }
            }
            if let found = match(s, i) {
                if result.isEmpty { result.reserveCapacity(s.count) }
                result.append(contentsOf: s[keptFrom..<i])
                result.append(contentsOf: found.replacement)
                i = found.end
                keptFrom = i
            } else {
                i += 1
            }
        }
        if keptFrom == 0 { return s }
        result.append(contentsOf: s[keptFrom...])
        return result
    }

    /// `str.replace(old, new[, limit])`: non-overlapping occurrences, left to right.
    static func replace(_ s: [UInt32], _ old: [UInt32], with new: [UInt32], limit: Int = .max) -> [UInt32] {
        guard let head = old.first, s.count >= old.count else { return s }
        var result: [UInt32] = []
        var keptFrom = 0, done = 0
        s.withUnsafeBufferPointer { text in
            old.withUnsafeBufferPointer { word in
                var i = 0
                let last = text.count - word.count
                while i <= last, done < limit {
                    guard text[i] == head else { i += 1; continue }
                    var k = 1
                    while k < word.count, text[i + k] == word[k] { k += 1 }
                    guard k == word.count else { i += 1; continue }
                    if done == 0 { result.reserveCapacity(text.count) }
                    result.append(contentsOf: text[keptFrom..<i])
                    result.append(contentsOf: new)
                    i += word.count
                    keptFrom = i
                    done += 1
                }
            }
        }
        if done == 0 { return s }
        result.append(contentsOf: s[keptFrom...])
        return result
    }

    static func starts(_ s: [UInt32], at i: Int, with word: [UInt32]) -> Bool {
        guard i >= 0, i + word.count <= s.count else { return false }
        for (k, c) in word.enumerated() where s[i + k] != c { return false }
        return true
    }

    /// `[xX]rest`: the first character either of two, then `rest`.
    private static func starts(_ s: [UInt32], at i: Int, with rest: [UInt32], firstOf first: (UInt32, UInt32)) -> Bool {
        i < s.count && (s[i] == first.0 || s[i] == first.1) && starts(s, at: i + 1, with: rest)
    }

    private static func find(_ word: [UInt32], in s: [UInt32], from start: Int) -> Int? {
        var j = start
        while j + word.count <= s.count {
            if s[j] == word[0], starts(s, at: j, with: word) { return j }
            j += 1
        }
        return nil
    }

    private static func isLowerASCII(_ c: UInt32) -> Bool { c >= 0x61 && c <= 0x7A }

    enum Chars {
        static let newline: UInt32 = 0x0A, tab: UInt32 = 0x09, space: UInt32 = 0x20, bang: UInt32 = 0x21
        static let hash: UInt32 = 0x23, ampersand: UInt32 = 0x26, hyphen: UInt32 = 0x2D, slash: UInt32 = 0x2F
        static let colon: UInt32 = 0x3A, semicolon: UInt32 = 0x3B, less: UInt32 = 0x3C, greater: UInt32 = 0x3E
        static let open: UInt32 = 0x5B, close: UInt32 = 0x5D, openBrace: UInt32 = 0x7B, pipe: UInt32 = 0x7C
        static let closeBrace: UInt32 = 0x7D, quote: UInt32 = 0x22, equals: UInt32 = 0x3D
        static let selfClosingTags = ["<br/>", "<br />", "<nowiki/>"].map(codes)
        static let newlineSlice: ArraySlice<UInt32> = [newline]
        static let newlinePipe = codes("\n|"), pipeNewlinePipe = codes("|\n|")
        static let twoBangs = codes("!!"), rowThenCells = codes("|-||"), threePipes = codes("|||"), twoPipes = codes("||")
        static let emptyBrackets = codes("[]"), commentOpen = codes("<!--"), commentClose = codes("-->")
        static let ref = codes("ref"), nowiki = codes("nowiki"), math = codes("math")
        static let categoryOpen = codes("[[Category:"), schemeSeparator = codes("://")
        static let ile = codes("ile:"), mage = codes("mage")
        static let attributes = ["bgcolor", "rowspan", "style=", "class=", "align="].map(codes)
        static let scope = codes("scope="), colspan = codes("colspan")

        static func codes(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value) }
    }
}
