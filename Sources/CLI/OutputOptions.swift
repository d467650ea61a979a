import ArgumentParser
import Latent

/// `--force`, shared by every command that writes outputs.
///
/// Without it an output replaces only an earlier output of the same kind: a Matrix Market
/// file with a Matrix Market file, an LSI model folder with an LSI model folder. With it, a
/// file of another kind or a model folder of another kind is replaced too. A folder holding
/// anything but a model's own files, a device, a pipe or one of the command's inputs is
/// never replaced.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Replace an existing file of another kind, or a model folder of another kind, at an output path. A folder holding anything else is never replaced.")
    var force = false

    var replacing: ReplacePolicy { force ? .anyKind : .sameKind }

    /// Checks a corpus output (and its index), before any work is done.
    func checkCorpus(_ path: String, inputs: [String]) throws {
        try CorpusFile.checkOutput(path, replacing: replacing, inputs: inputs)
    }

    /// Checks an output file of `kind`, before any work is done.
    func checkFile(_ path: String, kind: OutputKind, inputs: [String]) throws {
        try OutputCheck.file(path, kind: kind, replacing: replacing, inputs: inputs)
    }

    /// Checks a model folder output of `kind`, before any work is done.
    func checkModelFolder(_ path: String, kind: String) throws {
        try ModelFolder.checkOutput(path, kind: kind, replacing: replacing)
    }
}
