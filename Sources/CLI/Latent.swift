import ArgumentParser
import Latent

@main
struct LatentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latent",
        abstract: "Semantic representations (LSI, LDA, TF-IDF) of very large text corpora, streamed and distributed, and similarity queries over them.",
        discussion: """
            Examples:
              latent corpus texts/ --out docs       # text -> docs.mm (+ .index) and docs.vocab
              latent tfidf docs.mm --out docs.tfidf.mm --model docs.tfidf
              latent lsi docs.tfidf.mm --vocab docs.vocab --topics 400 --out docs.lsi
              latent topics docs.lsi --top 5        # topic #0(3.341): 0.644*"system" + ...
              latent project docs.lsi docs.tfidf.mm --out docs.lsi.mm

            New documents, with the saved vocabulary and models:
              latent corpus new/ --vocab docs.vocab --out new
              latent tfidf new.mm --apply docs.tfidf --out new.tfidf.mm
              latent project docs.lsi new.tfidf.mm --vocab new.vocab --out new.topics.tsv
              latent lsi new.tfidf.mm --update docs.lsi --out docs2.lsi

            Similarity queries:
              latent index docs.mm --vocab docs.vocab --tfidf docs.tfidf --model docs.lsi --out docs.index
              latent similar docs.index "graph minors trees" --top 5

            Outputs replace only earlier outputs of the same kind (--force: of another kind too; \
            never a folder holding anything else); Ctrl-C leaves no partial or temporary file.
              latent example                        # the 9-document example, then 1,000,000 documents
              latent info docs.tfidf.mm
              latent selfcheck                      # BLAS in use and the speed it reaches
              latent selfcheck --size 1000 --log-level debug

            Cluster (the same lsi command then trains on the workers):
              openssl rand -hex 16 > cluster.token                  # the same file on every machine
              latent dispatcher --listen 0.0.0.0:7950 --token-file cluster.token --tls-cert cert.pem --tls-key key.pem &
              latent worker --dispatcher 10.0.0.5:7950 --token-file cluster.token --tls-ca cert.pem &
              latent lsi docs.tfidf.mm --vocab docs.vocab --topics 400 --out docs.lsi --distributed required \\
                  --dispatcher 10.0.0.5:7950 --token-file cluster.token --tls-ca cert.pem
              latent status --dispatcher 10.0.0.5:7950 --token-file cluster.token --tls-ca cert.pem

            Logging: --log-level or LATENT_LOG_LEVEL (debug, info, warning, error; default info).
            """,
        version: latentVersion,
        subcommands: [CorpusCommand.self, TFIDFCommand.self, LSICommand.self, LDACommand.self, TopicsCommand.self, ProjectCommand.self,
                      InferCommand.self, EvaluateCommand.self, CoherenceCommand.self, WikiCommand.self,
                      ConvertCommand.self, InfoCommand.self, ExampleCommand.self, SelfCheckCommand.self,
                      IndexCommand.self, SimilarCommand.self, IndexAddCommand.self, IndexRemoveCommand.self, ServeCommand.self, ReportCommand.self,
                      DispatcherCommand.self, WorkerCommand.self, StatusCommand.self]
    )

    static func main() async {
        StartupTuning.restartIfUntuned()
        Allocator.keepFreedMemory()
        Interrupts.install()
        do {
            var command = try parseAsRoot(movingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            // Every command's errors are mapped here, once.
            exit(withError: rendered(error))
        }
    }

    /// `latent --log-level debug lsi ...` as `latent lsi --log-level debug ...`: options every
    /// subcommand takes may come before the subcommand's name too.
    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument.hasPrefix("--log-level=") {
                leading.append(argument)
                index += 1
            } else if argument == "--log-level", index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        // The subcommand's name, then the moved options, then the rest.
        return [arguments[index]] + leading + arguments[(index + 1)...]
    }
}
