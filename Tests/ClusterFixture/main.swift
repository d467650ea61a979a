import Foundation
import Latent
import LatentCluster
import TestSupport

// A dispatcher or a worker that runs the tests' own computations (`WeightSum`): what a Swift
// program with computations of its own composes, in a process of its own, for the cluster
// tests to drive and measure.
//
//   latent-cluster-fixture dispatcher             prints "fixture listening on port PORT" once it listens
//   latent-cluster-fixture worker HOST:PORT NAME

LatentLogging.bootstrap(level: .info)
let logger = Logger(label: "fixture")
let arguments = CommandLine.arguments.dropFirst()
do {
    switch arguments.first {
    case "dispatcher":
        let dispatcher = try Dispatcher(options: .init(listen: ClusterAddress(host: "127.0.0.1", port: 0)),
                                        registry: WeightSum.registry, logger: logger)
        try await dispatcher.run { address in
            FileHandle.standardOutput.write(Data("fixture listening on port \(address.port)\n".utf8))
        }
    case "worker" where arguments.count == 3:
        let address = try ClusterAddress(parsing: arguments[arguments.startIndex + 1], field: "dispatcher")
        let worker = try Worker(options: .init(dispatcher: address, threads: 1, name: arguments[arguments.startIndex + 2]),
                                registry: WeightSum.registry, logger: logger)
        try await worker.run()
    default:
        FileHandle.standardError.write(Data("usage: latent-cluster-fixture dispatcher | worker HOST:PORT NAME\n".utf8))
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("latent-cluster-fixture: \(error)\n".utf8))
    exit(1)
}
