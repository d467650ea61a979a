/// A small, fast, seedable random generator (xoshiro256**, seeded through SplitMix64), so
/// that every random projection in Latent is reproducible from one integer seed on every
/// platform. Not for cryptography.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)
    /// A second Gaussian from the last Box-Muller pair, handed out on the next call.
    private var spareGaussian: Double?

    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    @inline(__always)
    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform value in the open interval (0, 1).
    public mutating func nextOpenUnit() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1.0p-53
    }

    /// A standard normal value (Box-Muller).
    public mutating func nextGaussian() -> Double {
        if let spare = spareGaussian {
            spareGaussian = nil
            return spare
        }
        let radius = (-2 * log(nextOpenUnit())).squareRoot()
        let angle = 2 * Double.pi * nextOpenUnit()
        spareGaussian = radius * sin(angle)
        return radius * cos(angle)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Matrix {
    /// A matrix of independent standard normal entries drawn from `generator`.
    @_specialize(where Scalar == Double)
    @_specialize(where Scalar == Float)
    public static func gaussian(rows: Int, columns: Int, using generator: inout SeededGenerator) -> Matrix {
        var m = Matrix(rows: rows, columns: columns)
        for index in m.storage.indices { m.storage[index] = Scalar(generator.nextGaussian()) }
        return m
    }
}
