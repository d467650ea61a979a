import Foundation

/// The dispatcher's metrics in Prometheus's text format (version 0.0.4): what it has done
/// since it started (counters), and what it holds now (gauges).
enum DispatcherMetrics {
    /// The refusals and memory the RPC layer counts, beside the state's.
    struct Transport {
        var refusedTokens: Int
        var refusedPayloads: Int
        var payloadBytesReserved: UInt64
    }

    static func text(counters: DispatcherCore.Counters, status: DispatcherCore.Status, uptime: Double,
                     transport: Transport) -> String {
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP latent_dispatcher_\(name) \(help)")
            lines.append("# TYPE latent_dispatcher_\(name) \(type)")
            for sample in samples { lines.append("latent_dispatcher_\(name)\(sample.labels) \(sample.value)") }
        }
        func counter(_ name: String, _ help: String, _ value: Int) { metric(name + "_total", "counter", help, [("", "\(value)")]) }
        func gauge(_ name: String, _ help: String, _ value: String) { metric(name, "gauge", help, [("", value)]) }

        gauge("uptime_seconds", "Seconds since the dispatcher started.", String(format: "%.1f", uptime))
        gauge("workers", "Workers registered now.", "\(status.workers.count)")
        gauge("worker_threads", "Job threads of the workers registered now.", "\(status.workers.reduce(0) { $0 + $1.threads })")
        counter("workers_registered", "Worker registrations (a worker that comes back registers again).", counters.workersRegistered)
        counter("workers_dropped", "Workers dropped: their connection closed, or they missed heartbeats.", counters.workersDropped)
        counter("runs", "Runs opened by clients.", counters.runsOpened)
        gauge("run_active", "1 while a run is in progress.", status.run == nil ? "0" : "1")
        counter("stages_started", "Stages started (one per reduction of a run).", counters.stagesStarted)
        counter("stages_completed", "Stages whose jobs' states were all merged.", counters.stagesCompleted)
        gauge("stages_held", "Stages held in memory now.", "\(status.stagesHeld)")
        counter("jobs_queued", "Jobs queued (one per chunk).", counters.jobsQueued)
        counter("jobs_leased", "Leases of jobs to workers (a requeued job is leased again).", counters.jobsLeased)
        counter("jobs_done", "Jobs whose state was merged.", counters.jobsDone)
        counter("jobs_requeued", "Jobs put back in the queue because their worker was dropped or could not be sent the job.", counters.jobsRequeued)
        counter("leases_expired", "Leases that passed the lease limit; their jobs were requeued for any worker.", counters.leasesExpired)
        counter("late_states_taken", "States taken from a worker that no longer held the job's lease.", counters.lateStatesTaken)
        counter("states_unwanted", "States thrown away: another state of the job was taken first, or the run or stage is gone.", counters.statesUnwanted)
        counter("documents", "Documents in the jobs done.", counters.documentsDone)
        gauge("jobs_in_queue", "Jobs of the run waiting for a worker now.", "\(status.queued)")
        gauge("jobs_in_lease", "Jobs of the run leased to workers now.", "\(status.leased)")
        metric("refused_calls_total", "counter", "Calls refused: a wrong or missing token, or a payload refused at its header (no such run or stage, over the budget).",
               [("{reason=\"token\"}", "\(transport.refusedTokens)"), ("{reason=\"payload\"}", "\(transport.refusedPayloads)")])
        gauge("payload_bytes_reserved", "Bytes reserved now for payloads being received.", "\(transport.payloadBytesReserved)")
        gauge("resident_memory_bytes", "Resident memory of the dispatcher process.", "\(residentBytes())")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The process's resident set, from /proc/self/statm (0 where there is none).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
