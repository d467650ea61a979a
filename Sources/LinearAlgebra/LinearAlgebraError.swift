/// An error from the linear-algebra layer: a LAPACK routine that reported failure, or input
/// that no routine can take (NaN or infinite entries, shapes that do not fit).
///
/// A struct with a nested code, so that new kinds of failure do not break callers that switch
/// on the ones they know.
public struct LinearAlgebraError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The input holds a NaN or an infinity.
        public static let nonFiniteInput = Code("non-finite input")
        /// A LAPACK routine rejected one of its arguments (negative `info`).
        public static let invalidArgument = Code("invalid argument")
        /// An iterative LAPACK routine did not converge (positive `info`).
        public static let noConvergence = Code("no convergence")
        /// Operand shapes do not fit each other.
        public static let shapeMismatch = Code("shape mismatch")
    }

    public let code: Code
    /// The operation or LAPACK routine, e.g. `dgesdd`.
    public let routine: String
    /// LAPACK's `info`, where there is one.
    public let info: Int?
    public let message: String

    public init(code: Code, routine: String, info: Int? = nil, message: String) {
        self.code = code
        self.routine = routine
        self.info = info
        self.message = message
    }

    public var description: String {
        var text = "\(routine): \(message)"
        if let info { text += " (LAPACK info = \(info))" }
        return text
    }
}
