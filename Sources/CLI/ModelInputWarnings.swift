import Latent

/// Checks a corpus file against the model it goes through (`ModelInputCheck`: its term
/// count, and word by word against `vocabulary`, the corpus's vocabulary file, when given):
/// throws on a mismatch, logs what is only suspicious.
func checkModelInput(corpusTerms: Int?, corpus: String, vocabulary: String?, modelTerms: Int,
                     modelVocabulary: Vocabulary?, model: String, logger: Logger) throws {
    let given = try vocabulary.map { (try Vocabulary(contentsOf: $0), $0) }
    let warnings = try ModelInputCheck.check(
        corpusTerms: corpusTerms, corpus: corpus, vocabulary: given,
        modelTerms: modelTerms, modelVocabulary: modelVocabulary, model: model)
    for warning in warnings { logger.warning("\(warning)") }
}
