import Foundation

/// Items made one after another on a thread of their own, transformed on `workers` threads
/// at once, and handed out by `next()` in the order they were made: a stream whose expensive
/// step runs on every core while its order is kept. With no workers, the producer's thread
/// transforms each item itself: a read-ahead.
///
/// At most `depth` items are made ahead of the consumer (made, in transformation, or
/// transformed and waiting), so memory stays bounded. `next()` blocks; call it from a thread
/// that may. The first error, of the producer or a transformation, is thrown by `next()`
/// once the items before it have been handed out. `cancel()` (also on deinit) stops the
/// threads at their next item.
final class OrderedPipeline<Input: Sendable, Output: Sendable>: Sendable {
    private let state: PipelineState<Input, Output>

    /// - Parameters:
    ///   - produce: makes the items, handing each to `emit`; stops early when `emit`
    ///     returns false (the pipeline was cancelled).
    ///   - transform: called on a worker thread for each item.
    init(workers: Int, depth: Int, name: String,
         produce: @escaping @Sendable (_ emit: (Input) -> Bool) throws -> Void,
         transform: @escaping @Sendable (Input) throws -> Output) {
        let state = PipelineState<Input, Output>(depth: max(1, depth))
        self.state = state
        // The threads hold the state, not the pipeline, so dropping the pipeline cancels them.
        let inline: (@Sendable (Input) throws -> Output)? = workers < 1 ? transform : nil
        let producer = Thread { state.produce(produce, inline: inline) }
        producer.name = name + ".read"
        producer.start()
        for number in 0..<max(0, workers) {
            let worker = Thread { state.work(transform) }
            worker.name = name + ".work\(number)"
            worker.start()
        }
    }

    deinit { state.cancel() }

    /// The next output in the order of the inputs, nil after the last.
    func next() throws -> Output? { try state.next() }

    func cancel() { state.cancel() }
}

private final class PipelineState<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    // Every field is guarded by `condition`.
    private let condition = NSCondition()
    private let depth: Int
    private var waiting: [(Int, Input)] = []
    private var done: [Int: Result<Output, any Error>] = [:]
    private var made = 0
    private var delivered = 0
    private var producerFinished = false
    private var producerFailure: (any Error)?
    private var cancelled = false

    init(depth: Int) { self.depth = depth }

    /// Runs the producer; with `inline`, each item is transformed here and made ready at once.
    func produce(_ body: (_ emit: (Input) -> Bool) throws -> Void, inline: ((Input) throws -> Output)?) {
        do {
            try body { input in
                let result = inline.map { transform in Result { try transform(input) } }
                condition.lock()
                defer { condition.unlock() }
                while made - delivered >= depth && !cancelled { condition.wait() }
                guard !cancelled else { return false }
                if let result { done[made] = result } else { waiting.append((made, input)) }
                made += 1
                condition.broadcast()
                return true
            }
            condition.lock()
        } catch {
            condition.lock()
            producerFailure = error
        }
        producerFinished = true
        condition.broadcast()
        condition.unlock()
    }

    func work(_ transform: (Input) throws -> Output) {
        while true {
            condition.lock()
            while waiting.isEmpty && !producerFinished && !cancelled { condition.wait() }
            if cancelled || waiting.isEmpty {
                condition.unlock()
                return
            }
            let (number, input) = waiting.removeFirst()
            condition.unlock()
            let result = Result { try transform(input) }
            condition.lock()
            done[number] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    func next() throws -> Output? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result = done.removeValue(forKey: delivered) {
                delivered += 1
                condition.broadcast()
                return try result.get()
            }
            if producerFinished && delivered == made {
                if let producerFailure { throw producerFailure }
                return nil
            }
            if cancelled { return nil }
            condition.wait()
        }
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
