import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// What `latent status` shows: the dispatcher's workers and the run in progress.
public struct ClusterStatus: Sendable {
    public struct WorkerEntry: Sendable {
        public var id: UInt64
        public var name: String
        public var peer: String
        public var threads: Int
        public var jobsLeased: Int
        public var jobsDone: UInt64
        public var secondsSinceHeartbeat: Double
        /// How long the worker's oldest job has been leased; 0 with none.
        public var oldestLeaseSeconds: Double
    }

    public var dispatcher: ClusterAddress
    public var workers: [WorkerEntry]
    public var runID: UInt64?
    public var runClient: String
    public var jobsQueued: UInt64
    public var jobsLeased: UInt64
    public var jobsDone: UInt64
    public var documentsDone: UInt64
    public var documentsPerSecond: Double
    public var uptimeSeconds: Double
    /// Stages of the run so far, and those the dispatcher holds in memory now.
    public var stages: UInt64
    public var stagesHeld: Int
    /// The dispatcher's cluster protocol version (`ClusterProtocol`); 0 from a dispatcher of
    /// before versions.
    public var protocolVersion: UInt32

    /// Asks the dispatcher, failing within 2 s when it does not answer.
    public static func fetch(from address: ClusterAddress, security: ClusterSecurity) async throws -> ClusterStatus {
        let reply: Latent_Cluster_V1_StatusReply
        do {
            reply = try await Transport.withDispatcher(address, security: security) { client in
                try await client.status(.init(), options: Transport.callOptions(timeout: .seconds(2)))
            }
        } catch let error where !(error is ClusterError) {  // a bad configuration speaks for itself
            if let reason = await TLSProbe.diagnose(address, security: security) {
                throw ClusterError(.unavailable, "the TLS connection to the dispatcher at \(address) failed: \(reason)", cause: error)
            }
            throw ClusterError(.unavailable, "no dispatcher answered at \(address) (\(describe(error)))", cause: error)
        }
        return ClusterStatus(
            dispatcher: address,
            workers: reply.workers.map {
                WorkerEntry(id: $0.id, name: $0.name, peer: $0.peer, threads: Int($0.threads), jobsLeased: Int($0.jobsLeased),
                            jobsDone: $0.jobsDone, secondsSinceHeartbeat: $0.secondsSinceHeartbeat,
                            oldestLeaseSeconds: $0.oldestLeaseSeconds)
            },
            runID: reply.runID == 0 ? nil : reply.runID, runClient: reply.runClient, jobsQueued: reply.jobsQueued,
            jobsLeased: reply.jobsLeased, jobsDone: reply.jobsDone, documentsDone: reply.documentsDone,
            documentsPerSecond: reply.documentsPerSecond, uptimeSeconds: reply.uptimeSeconds,
            stages: reply.stages, stagesHeld: Int(reply.stagesHeld), protocolVersion: reply.protocolVersion)
    }

    /// A few lines of text: the run, then one line per worker.
    public func rendered() -> String {
        var lines = ["dispatcher \(dispatcher), up \(String(format: "%.0f", uptimeSeconds)) s, \(counted(workers.count, "worker")), cluster protocol version \(protocolVersion)"]
        if let mismatch = ClusterProtocol.mismatch("the dispatcher", speaks: protocolVersion, us: "this program") {
            lines.append("warning: \(mismatch)")
        }
        if let runID {
            lines.append("run #\(runID) of \(sanitized(runClient)): stage \(stages), \(jobsQueued) jobs queued, \(jobsLeased) leased, \(jobsDone) done; \(documentsDone) documents, \(String(format: "%.0f", documentsPerSecond)) documents/s")
        } else {
            lines.append("no run in progress")
        }
        lines.append("worker  threads  leased  lease age  done  last heartbeat  name (address)")
        for worker in workers {
            let age = worker.jobsLeased > 0 ? String(format: "%7.1f s", worker.oldestLeaseSeconds) : "      -  "
            lines.append(String(format: "#%-6llu %7d  %6d  ", worker.id, worker.threads, worker.jobsLeased) + age
                         + String(format: "  %4llu  %12.1f s  ", worker.jobsDone, worker.secondsSinceHeartbeat)
                         + "\(sanitized(worker.name)) (\(sanitized(worker.peer)))")
        }
        return lines.joined(separator: "\n")
    }
}
