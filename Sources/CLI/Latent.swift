import ArgumentParser
import Latent

@main
struct LatentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latent",
        abstract: "Semantic representations (LSI, TF-IDF) of very large text corpora, streamed and distributed.",
        discussion: """
            Examples:
              latent corpus texts/ --out wiki       # text -> wiki.mm (+ .index) and wiki.vocab
              latent tfidf wiki.mm --out wiki.tfidf.mm
              latent info wiki.tfidf.mm
              latent selfcheck                      # BLAS in use and the speed it reaches
              latent selfcheck --size 1000 --log-level debug

            Logging: --log-level or LATENT_LOG_LEVEL (debug, info, warning, error; default info).
            """,
        version: latentVersion,
        subcommands: [CorpusCommand.self, TFIDFCommand.self, ConvertCommand.self, InfoCommand.self, SelfCheckCommand.self]
    )
}
