#if canImport(Glibc)
import Glibc
#endif

/// Hand-written number scanning for the text formats' hot loops: plain loops over raw
/// bytes, no allocation. Reals take Clinger's fast path (an integer mantissa below 2^53
/// scaled by an exact power of ten, which IEEE arithmetic rounds correctly) and fall back
/// to `strtod` otherwise, so every value parses to the nearest double, as Python's does.
struct ByteScanner {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }

    @inline(__always)
    mutating func skipBlanks() {
        while position < bytes.count {
            let byte = bytes[position]
            guard byte == 0x20 || byte == 0x09 else { break }
            position += 1
        }
    }

    /// A non-negative decimal integer, or nil when there is none at this position (or it
    /// overflows).
    @inline(__always)
    mutating func unsignedInteger() -> Int? {
        var value = 0
        let begin = position
        while position < bytes.count {
            let digit = Int(bytes[position]) &- 48
            guard digit >= 0 && digit <= 9 else { break }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            value = sum
            position += 1
        }
        return position > begin ? value : nil
    }

    /// Whether the next character ends a field (blank or end of line).
    var atFieldEnd: Bool {
        position >= bytes.count || bytes[position] == 0x20 || bytes[position] == 0x09
    }

    /// The text from `position` up to the next blank, for error messages.
    func currentField() -> String {
        var end = position
        while end < bytes.count && bytes[end] != 0x20 && bytes[end] != 0x09 { end += 1 }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
        return text.count > 40 ? String(text.prefix(40)) + "..." : text
    }

    /// A real number in any form `strtod` takes (including `nan` and `inf`, which callers
    /// reject); nil when the field is not a number.
    @inline(__always)
    mutating func real() -> Double? {
        let begin = position
        var index = position
        var negative = false
        if index < bytes.count && (bytes[index] == 0x2D || bytes[index] == 0x2B) {
            negative = bytes[index] == 0x2D
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var sawDigit = false
        while index < bytes.count, case let d = bytes[index] &- 48, d <= 9 {
            if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(d); if mantissa > 0 { digits += 1 } } else { exponent += 1 }
            sawDigit = true
            index += 1
        }
        if index < bytes.count && bytes[index] == 0x2E {
            index += 1
            while index < bytes.count, case let d = bytes[index] &- 48, d <= 9 {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(d); if mantissa > 0 { digits += 1 }; exponent -= 1 }
                sawDigit = true
                index += 1
            }
        }
        if sawDigit && index < bytes.count && (bytes[index] | 0x20) == 0x65 {
            var e = index + 1
            var expNegative = false
            if e < bytes.count && (bytes[e] == 0x2D || bytes[e] == 0x2B) {
                expNegative = bytes[e] == 0x2D
                e += 1
            }
            var expValue = 0
            var expDigits = 0
            while e < bytes.count, case let d = bytes[e] &- 48, d <= 9 {
                if expValue < 100_000 { expValue = expValue * 10 + Int(d) }
                expDigits += 1
                e += 1
            }
            if expDigits == 0 { return slowReal(from: begin) }
            exponent += expNegative ? -expValue : expValue
            index = e
        }
        guard sawDigit else { return slowReal(from: begin) }
        let fieldEnds = index >= bytes.count || bytes[index] == 0x20 || bytes[index] == 0x09
        guard fieldEnds else { return slowReal(from: begin) }
        if digits < 19 && mantissa < (1 << 53) && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            if exponent < 0 { value /= powersOfTen[-exponent] } else { value *= powersOfTen[exponent] }
            position = index
            return negative ? -value : value
        }
        return slowReal(from: begin)
    }

    /// `strtod` on a NUL-terminated copy of the field.
    private mutating func slowReal(from begin: Int) -> Double? {
        var end = begin
        while end < bytes.count && bytes[end] != 0x20 && bytes[end] != 0x09 { end += 1 }
        let length = end - begin
        guard length > 0 && length < 512 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { field -> Double? in
            for offset in 0..<length { field[offset] = CChar(bitPattern: bytes[begin + offset]) }
            field[length] = 0
            var stop: UnsafeMutablePointer<CChar>?
            let value = strtod(field.baseAddress!, &stop)
            guard let stop, field.baseAddress!.distance(to: stop) == length else { return nil }
            position = end
            return value
        }
    }
}

private let powersOfTen: [Double] = (0...22).map { exponent in
    var value = 1.0
    for _ in 0..<exponent { value *= 10 }
    return value
}
