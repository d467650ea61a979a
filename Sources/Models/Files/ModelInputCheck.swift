import LatentCorpus

/// Checks, before any document goes through a trained model (a projection, an online
/// update, TF-IDF weights), that the corpus was made with the model's vocabulary: term ids
/// mean words, so a corpus bagged with another vocabulary would give meaningless results
/// without any error.
///
/// What can be checked: the corpus's declared term count against the model's, and, when
/// the corpus's vocabulary is given, that vocabulary token by token against the model's.
public enum ModelInputCheck {
    /// Throws when the corpus cannot be the model's kind of input; returns warnings for
    /// what could not be checked.
    ///
    /// - Parameters:
    ///   - corpusTerms: the term count the corpus declares (nil when unknown).
    ///   - corpus: how errors name the corpus (its file).
    ///   - vocabulary: the corpus's vocabulary and its file, when given.
    ///   - modelTerms: the model's term count.
    ///   - modelVocabulary: the model's vocabulary, when it has one.
    ///   - model: how errors name the model (its folder).
    /// - Throws: `ModelError` (`.invalidInput`) naming both sides.
    public static func check(corpusTerms: Int?, corpus: String, vocabulary: (Vocabulary, file: String)? = nil,
                             modelTerms: Int, modelVocabulary: Vocabulary?, model: String) throws -> [String] {
        func fail(_ message: String) -> ModelError { ModelError(code: .invalidInput, message: message) }
        let remedy = "bag new documents with the model's vocabulary (latent corpus SOURCE --vocab VOCABULARY)"
        var warnings: [String] = []
        if let corpusTerms, corpusTerms > modelTerms {
            throw fail("\(corpus) has \(corpusTerms) terms, but the model \(model) has \(modelTerms): "
                       + "the corpus was made with another vocabulary; \(remedy)")
        }
        if let (vocabulary, file) = vocabulary {
            if vocabulary.idBound > modelTerms {
                throw fail("\(file) has \(vocabulary.idBound) term ids, but the model \(model) has \(modelTerms) terms: "
                           + "it is not the model's vocabulary; \(remedy)")
            }
            if let modelVocabulary {
                for id in 0..<vocabulary.idBound {
                    let ours = vocabulary[Int32(id)], theirs = modelVocabulary[Int32(id)]
                    guard ours == theirs else {
                        throw fail("\(file) does not match the vocabulary of the model \(model): term id \(id) is "
                                   + "\(quoted(ours)) in \(file) and \(quoted(theirs)) in the model; \(remedy)")
                    }
                }
            } else {
                warnings.append("the model \(model) has no vocabulary, so \(file) could not be checked against it")
            }
        } else if let corpusTerms, corpusTerms < modelTerms {
            warnings.append("\(corpus) declares \(corpusTerms) terms and the model \(model) has \(modelTerms): "
                            + "if the corpus was not made with the model's vocabulary, the results mean nothing "
                            + "(give the corpus's vocabulary to check)")
        }
        return warnings
    }

    /// For training with a vocabulary: throws when the corpus has more terms than the
    /// vocabulary names; returns a warning when it declares fewer.
    /// - Throws: `ModelError` (`.invalidInput`) naming both files.
    public static func checkTraining(corpusTerms: Int?, corpus: String, vocabulary: Vocabulary,
                                     file: String) throws -> [String] {
        guard let corpusTerms else { return [] }
        if corpusTerms > vocabulary.idBound {
            throw ModelError(code: .invalidInput, message:
                "\(corpus) has \(corpusTerms) terms, but the vocabulary \(file) has \(vocabulary.idBound) term ids: "
                + "the corpus was made with another vocabulary")
        }
        if corpusTerms < vocabulary.idBound {
            return ["\(corpus) declares \(corpusTerms) terms and the vocabulary \(file) \(vocabulary.idBound): "
                    + "if the corpus was not made with this vocabulary, the topics will name the wrong words"]
        }
        return []
    }

    private static func quoted(_ token: String?) -> String {
        token.map { "'\($0)'" } ?? "unused"
    }
}
