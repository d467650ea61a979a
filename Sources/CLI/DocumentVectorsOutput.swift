import Foundation
import Latent

/// Where `project` and `infer` write one vector per document: a corpus (.mm, .mm.gz,
/// .mm.bz2, .lbc) or a table (.tsv, .jsonl) whose lines name each document's source file
/// when it is known (from --files, or PREFIX.files.tsv beside the input corpus).
struct DocumentVectorsOutput {
    let path: String
    /// The input corpus, whose PREFIX.files.tsv names the documents' files.
    let corpus: String
    let files: String?
    let output: OutputOptions

    var isTable: Bool { DocumentVectorsWriter.format(of: path) != nil }

    /// Checks the output path before any work is done.
    func check(inputs: [String]) throws {
        if let format = DocumentVectorsWriter.format(of: path) {
            try output.checkFile(path, kind: format == .tsv ? .documentTable : .documentJSONLines, inputs: inputs)
        } else {
            try output.checkCorpus(path, inputs: inputs)
        }
    }

    /// Writes `vectors` (`columns` values each); returns the documents written.
    func write(_ vectors: some Corpus, columns: Int, progress: @escaping (Int) -> Void) throws -> Int {
        guard isTable else {
            return try CorpusFile.write(vectors, to: path, termCount: columns, replacing: output.replacing,
                                        progress: progress).documents
        }
        let companion = DocumentFiles.companion(of: corpus)
        let names = try files.map(DocumentFiles.read)
            ?? (FileManager.default.fileExists(atPath: companion) ? try DocumentFiles.read(companion) : nil)
        return try DocumentVectorsWriter.write(vectors, to: path, columns: columns, files: names,
                                               replacing: output.replacing, progress: progress)
    }
}
