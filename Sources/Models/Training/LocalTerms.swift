/// The terms a run of term ids uses, numbered locally: the distinct ids ascending, and each
/// entry's position among them. Models use it to keep their per-chunk matrices to the terms
/// a chunk has (LSI's chunk matrix, LDA's summed statistics).
enum LocalTerms {
    /// `distinct`: the ids that occur, ascending; `local[e]`: the position of ids[e] in it. A
    /// marker array over all terms for long runs (linear time), a sorted set for short ones
    /// (so that a run of one short document does not cost O(termCount)).
    static func numbered(_ ids: [Int32], termCount: Int) -> (distinct: [Int32], local: [Int32]) {
        if ids.count * 8 >= termCount {
            var position = [Int32](repeating: -1, count: termCount)
            for id in ids { position[Int(id)] = 0 }
            var distinct: [Int32] = []
            for term in 0..<termCount where position[term] == 0 {
                position[term] = Int32(distinct.count)
                distinct.append(Int32(term))
            }
            // Every term present: local ids are the ids, and the array is shared, not copied.
            if distinct.count == termCount { return (distinct, ids) }
            return (distinct, ids.map { position[Int($0)] })
        }
        let distinct = Array(Set(ids)).sorted()
        var position: [Int32: Int32] = [:]
        for (row, id) in distinct.enumerated() { position[id] = Int32(row) }
        return (distinct, ids.map { position[$0] ?? 0 })
    }
}
