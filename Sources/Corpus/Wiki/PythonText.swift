// Python's string semantics on code points, as gensim's Wikipedia code relies on them: the
// classes `\w` and `\d` of `re` patterns over `str`, `str.lower()`, `int(text, base)` and
// the HTML 4 entity names of `html.entities.name2codepoint`. Text is an array of code points
// (`UInt32`) rather than a `String`: a numeric entity such as `&#xD800;` gives Python a lone
// surrogate, which a Swift `String` cannot hold, and gensim's output must be followed exactly.
//
// Character properties come from the Unicode tables of this Swift runtime; Python 3.11 uses
// Unicode 14. Characters assigned or re-categorised since then may class differently.

enum PythonText {
    /// Python's `\w` in a `str` pattern: `str.isalnum()` (a letter, or any character with a
    /// numeric value) or `_`.
    static func isWord(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x5F
        }
        guard let scalar = Unicode.Scalar(c) else { return false }
        let properties = scalar.properties
        if properties.numericType != nil { return true }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// Python's `\d` in a `str` pattern: a decimal digit of any script.
    static func isDecimal(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x30 && c <= 0x39 }
        return Unicode.Scalar(c)?.properties.numericType == .decimal
    }

    /// The value of a decimal digit of any script (`isDecimal`).
    static func decimalValue(_ c: UInt32) -> Int? {
        if c >= 0x30 && c <= 0x39 { return Int(c - 0x30) }
        guard c >= 0x80, let scalar = Unicode.Scalar(c), scalar.properties.numericType == .decimal,
              let value = scalar.properties.numericValue else { return nil }
        return Int(value)
    }

    /// `str.lower()`: each character's full lowercase mapping (one character may become
    /// two), and capital sigma as final sigma where Unicode's Final_Sigma context says so
    /// (after a cased letter, not before one, case-ignorable characters skipped), as CPython does.
    static func lowercased(_ text: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(text.count)
        for (i, c) in text.enumerated() {
            if c < 0x80 {
                result.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
            } else if c == 0x3A3 {
                result.append(isFinalSigma(text, at: i) ? 0x3C2 : 0x3C3)
            } else if let scalar = Unicode.Scalar(c) {
                let properties = scalar.properties
                if properties.changesWhenLowercased {
                    result.append(contentsOf: properties.lowercaseMapping.unicodeScalars.map(\.value))
                } else {
                    result.append(c)
                }
            } else {
                result.append(c)
            }
        }
        return result
    }

    private static func isFinalSigma(_ text: [UInt32], at i: Int) -> Bool {
        func properties(_ c: UInt32) -> Unicode.Scalar.Properties? { Unicode.Scalar(c)?.properties }
        var j = i - 1
        while j >= 0, properties(text[j])?.isCaseIgnorable == true { j -= 1 }
        guard j >= 0, properties(text[j])?.isCased == true else { return false }
        j = i + 1
        while j < text.count, properties(text[j])?.isCaseIgnorable == true { j += 1 }
        return j == text.count || properties(text[j])?.isCased != true
    }

    /// `int(text, base)` for base 10 or 16, for text made of `\w` characters (no sign, no
    /// spaces): digits of any script, ASCII letters as hex digits, single underscores
    /// between digits, and for base 16 an optional `0x` prefix; nil where Python raises.
    static func integer(_ text: ArraySlice<UInt32>, base: Int) -> Int? {
        var digits = text
        if base == 16, digits.count >= 2, digits.first == 0x30, let x = digits.dropFirst().first, x == 0x78 || x == 0x58 {
            digits = digits.dropFirst(2)
            // After a prefix Python allows one underscore before the first digit.
            if digits.first == 0x5F { digits = digits.dropFirst() }
        }
        guard !digits.isEmpty else { return nil }
        var value = 0
        var previousUnderscore = true // no leading underscore
        for c in digits {
            if c == 0x5F {
                if previousUnderscore { return nil }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            let digit: Int
            if let decimal = decimalValue(c) {
                digit = decimal
            } else if base == 16, (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) {
                digit = Int(c | 0x20) - 0x61 + 10
            } else {
                return nil
            }
            let (scaled, overflow) = value.multipliedReportingOverflow(by: base)
            guard !overflow else { return Int.max }
            value = scaled + digit
        }
        return previousUnderscore ? nil : value
    }

    /// HTML 4's named entities (Python's `html.entities.name2codepoint`, 252 names).
    static let htmlEntities: [String: UInt32] = [
        "AElig": 198, "Aacute": 193, "Acirc": 194, "Agrave": 192, "Alpha": 913, "Aring": 197, "Atilde": 195,
        "Auml": 196, "Beta": 914, "Ccedil": 199, "Chi": 935, "Dagger": 8225, "Delta": 916, "ETH": 208,
        "Eacute": 201, "Ecirc": 202, "Egrave": 200, "Epsilon": 917, "Eta": 919, "Euml": 203, "Gamma": 915,
        "Iacute": 205, "Icirc": 206, "Igrave": 204, "Iota": 921, "Iuml": 207, "Kappa": 922, "Lambda": 923,
        "Mu": 924, "Ntilde": 209, "Nu": 925, "OElig": 338, "Oacute": 211, "Ocirc": 212, "Ograve": 210,
        "Omega": 937, "Omicron": 927, "Oslash": 216, "Otilde": 213, "Ouml": 214, "Phi": 934, "Pi": 928,
        "Prime": 8243, "Psi": 936, "Rho": 929, "Scaron": 352, "Sigma": 931, "THORN": 222, "Tau": 932,
        "Theta": 920, "Uacute": 218, "Ucirc": 219, "Ugrave": 217, "Upsilon": 933, "Uuml": 220, "Xi": 926,
        "Yacute": 221, "Yuml": 376, "Zeta": 918, "aacute": 225, "acirc": 226, "acute": 180, "aelig": 230,
        "agrave": 224, "alefsym": 8501, "alpha": 945, "amp": 38, "and": 8743, "ang": 8736, "aring": 229,
        "asymp": 8776, "atilde": 227, "auml": 228, "bdquo": 8222, "beta": 946, "brvbar": 166, "bull": 8226,
        "cap": 8745, "ccedil": 231, "cedil": 184, "cent": 162, "chi": 967, "circ": 710, "clubs": 9827,
        "cong": 8773, "copy": 169, "crarr": 8629, "cup": 8746, "curren": 164, "dArr": 8659, "dagger": 8224,
        "darr": 8595, "deg": 176, "delta": 948, "diams": 9830, "divide": 247, "eacute": 233, "ecirc": 234,
        "egrave": 232, "empty": 8709, "emsp": 8195, "ensp": 8194, "epsilon": 949, "equiv": 8801, "eta": 951,
        "eth": 240, "euml": 235, "euro": 8364, "exist": 8707, "fnof": 402, "forall": 8704, "frac12": 189,
        "frac14": 188, "frac34": 190, "frasl": 8260, "gamma": 947, "ge": 8805, "gt": 62, "hArr": 8660,
        "harr": 8596, "hearts": 9829, "hellip": 8230, "iacute": 237, "icirc": 238, "iexcl": 161,
        "igrave": 236, "image": 8465, "infin": 8734, "int": 8747, "iota": 953, "iquest": 191, "isin": 8712,
        "iuml": 239, "kappa": 954, "lArr": 8656, "lambda": 955, "lang": 9001, "laquo": 171, "larr": 8592,
        "lceil": 8968, "ldquo": 8220, "le": 8804, "lfloor": 8970, "lowast": 8727, "loz": 9674, "lrm": 8206,
        "lsaquo": 8249, "lsquo": 8216, "lt": 60, "macr": 175, "mdash": 8212, "micro": 181, "middot": 183,
        "minus": 8722, "mu": 956, "nabla": 8711, "nbsp": 160, "ndash": 8211, "ne": 8800, "ni": 8715,
        "not": 172, "notin": 8713, "nsub": 8836, "ntilde": 241, "nu": 957, "oacute": 243, "ocirc": 244,
        "oelig": 339, "ograve": 242, "oline": 8254, "omega": 969, "omicron": 959, "oplus": 8853, "or": 8744,
        "ordf": 170, "ordm": 186, "oslash": 248, "otilde": 245, "otimes": 8855, "ouml": 246, "para": 182,
        "part": 8706, "permil": 8240, "perp": 8869, "phi": 966, "pi": 960, "piv": 982, "plusmn": 177,
        "pound": 163, "prime": 8242, "prod": 8719, "prop": 8733, "psi": 968, "quot": 34, "rArr": 8658,
        "radic": 8730, "rang": 9002, "raquo": 187, "rarr": 8594, "rceil": 8969, "rdquo": 8221, "real": 8476,
        "reg": 174, "rfloor": 8971, "rho": 961, "rlm": 8207, "rsaquo": 8250, "rsquo": 8217, "sbquo": 8218,
        "scaron": 353, "sdot": 8901, "sect": 167, "shy": 173, "sigma": 963, "sigmaf": 962, "sim": 8764,
        "spades": 9824, "sub": 8834, "sube": 8838, "sum": 8721, "sup": 8835, "sup1": 185, "sup2": 178,
        "sup3": 179, "supe": 8839, "szlig": 223, "tau": 964, "there4": 8756, "theta": 952, "thetasym": 977,
        "thinsp": 8201, "thorn": 254, "tilde": 732, "times": 215, "trade": 8482, "uArr": 8657, "uacute": 250,
        "uarr": 8593, "ucirc": 251, "ugrave": 249, "uml": 168, "upsih": 978, "upsilon": 965, "uuml": 252,
        "weierp": 8472, "xi": 958, "yacute": 253, "yen": 165, "yuml": 255, "zeta": 950, "zwj": 8205,
        "zwnj": 8204,
    ]
}
