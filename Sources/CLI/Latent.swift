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
              latent lsi wiki.tfidf.mm --vocab wiki.vocab --topics 400 --out wiki.lsi
              latent topics wiki.lsi --top 5        # topic #0(3.341): 0.644*"system" + ...
              latent project wiki.lsi wiki.tfidf.mm --out wiki.lsi.mm
              latent example                        # the 9-document example, then 1,000,000 documents
              latent info wiki.tfidf.mm
              latent selfcheck                      # BLAS in use and the speed it reaches
              latent selfcheck --size 1000 --log-level debug

            Cluster (the same lsi command then trains on the workers):
              latent dispatcher --listen 0.0.0.0:7950 --token secret &
              latent worker --dispatcher 10.0.0.5:7950 --token secret &     # on every worker machine
              latent lsi wiki.tfidf.mm --vocab wiki.vocab --topics 400 --out wiki.lsi --distributed required \\
                  --dispatcher 10.0.0.5:7950 --token secret
              latent status --dispatcher 10.0.0.5:7950 --token secret

            Logging: --log-level or LATENT_LOG_LEVEL (debug, info, warning, error; default info).
            """,
        version: latentVersion,
        subcommands: [CorpusCommand.self, TFIDFCommand.self, LSICommand.self, TopicsCommand.self, ProjectCommand.self,
                      ConvertCommand.self, InfoCommand.self, ExampleCommand.self, SelfCheckCommand.self,
                      DispatcherCommand.self, WorkerCommand.self, StatusCommand.self]
    )

    static func main() async {
        do {
            try CPUCheck.requireAVX2()
        } catch {
            exit(withError: error)
        }
        Allocator.keepFreedMemory()
        await main(nil)
    }
}
