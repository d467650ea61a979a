/// An error from training or using a model: bad parameters, input that does not fit the
/// model (a term id beyond the vocabulary, a non-finite weight), or a model file that does
/// not hold together. The message names the parameter, document or field and what was
/// expected.
public struct ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A parameter is out of its range.
        public static let invalidParameter = Code("invalid parameter")
        /// A document does not fit the model.
        public static let invalidInput = Code("invalid input")
        /// A saved model is malformed or inconsistent.
        public static let invalidModel = Code("invalid model")
        /// A training checkpoint cannot be used: another run's, damaged, or not writable.
        public static let invalidCheckpoint = Code("invalid checkpoint")
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
