/// The fixed binary tree in which partial states meet, whatever order jobs finish in.
///
/// Node (level, index) covers chunks `index·2^level ..< (index+1)·2^level`. When both
/// children of a node are present they are merged (earlier first) into the node. Because the
/// tree does not depend on timing, the same jobs always give bit-identical results, on one
/// thread or many; and at most one state per level waits for its sibling, so memory stays at
/// O(log chunks) states.
public struct MergeTree<State> {
    fileprivate struct Node: Hashable {
        var level: Int
        var index: Int
    }
    private var waiting: [Node: State] = [:]
    /// The placed states that cover chunks `0..<prefixEnd`, all of them placed: the run of
    /// finished chunks from the first, as the tree holds it (see `prefix`).
    private var prefixBlocks: [(node: Node, state: State)] = []
    private var prefixEnd = 0

    public init() {}

    /// A tree that continues from `prefix` (an earlier tree's `prefix`): its blocks are
    /// placed, and the next chunk to place is `prefix.chunks`. The merges that follow are
    /// the ones the earlier tree would have made.
    public init(resuming prefix: ReductionPrefix<State>) throws {
        for block in prefix.blocks {
            let node = Node(level: block.level, index: block.index)
            guard block.level >= 0, block.level < 62, block.index >= 0, node.start == prefixEnd else {
                throw ModelError(code: .invalidCheckpoint, message:
                    "a reduction's blocks do not cover its first chunks in order (block at level \(block.level), index \(block.index) after \(prefixEnd) chunks)")
            }
            waiting[node] = block.state
            prefixBlocks.append((node, block.state))
            prefixEnd = node.end
        }
        guard prefixEnd == prefix.chunks else {
            throw ModelError(code: .invalidCheckpoint, message: "a reduction's blocks cover \(prefixEnd) chunks, not the \(prefix.chunks) recorded")
        }
    }

    /// The states that cover the longest run of finished chunks from the first, each at its
    /// node: what a checkpoint keeps of a reduction in progress. A tree made from it
    /// (`init(resuming:)`) makes the same merges as this one from then on.
    public var prefix: ReductionPrefix<State> {
        ReductionPrefix(chunks: prefixEnd,
                        blocks: prefixBlocks.map { .init(level: $0.node.level, index: $0.node.index, state: $0.state) })
    }

    /// Keeps `prefixBlocks` up to date as `node` is placed: a node that continues the
    /// prefix extends it, one that covers its last blocks (their merge) replaces them.
    private mutating func extendPrefix(_ node: Node, _ state: State) {
        if node.start == prefixEnd {
            prefixBlocks.append((node, state))
            prefixEnd = node.end
        } else if node.start < prefixEnd {
            prefixBlocks.removeAll { $0.node.start >= node.start }
            prefixBlocks.append((node, state))
            prefixEnd = max(prefixEnd, node.end)
        }
    }

    /// A state ready to be placed at a node.
    public struct Pending {
        fileprivate var node: Node
        public var state: State
    }

    /// The work the caller must do next after placing a state: merge these two and place
    /// the result at the parent (see `place`), or nothing when the sibling is not there yet.
    public struct Merge {
        fileprivate var parent: Node
        public var earlier: State
        public var later: State
    }

    public static func leaf(_ index: Int, _ state: State) -> Pending {
        Pending(node: Node(level: 0, index: index), state: state)
    }

    /// The state of the whole subtree at node (`level`, `index`): chunks
    /// `index·2^level ..< (index+1)·2^level`, merged as the tree merges them (a block of
    /// chunks run as one job). Placing it is placing its chunks' states one by one.
    public static func node(level: Int, index: Int, _ state: State) -> Pending {
        Pending(node: Node(level: level, index: index), state: state)
    }

    public static func parent(of merge: Merge, merged state: State) -> Pending {
        Pending(node: merge.parent, state: state)
    }

    /// Places a state; returns the merge to perform if its sibling was waiting.
    ///
    /// Only a state that waits extends the prefix. One that is merged at once stays out of it
    /// until its parent is placed: while the caller merges the pair, the prefix holds the
    /// sibling it already had (or neither), never both, so a tree resumed from it makes that
    /// merge itself, where this one made it, and not in `drain` at the end.
    public mutating func place(_ pending: Pending) -> Merge? {
        let node = pending.node
        let sibling = Node(level: node.level, index: node.index ^ 1)
        guard let other = waiting.removeValue(forKey: sibling) else {
            waiting[node] = pending.state
            extendPrefix(node, pending.state)
            return nil
        }
        let parent = Node(level: node.level + 1, index: node.index >> 1)
        return node.index < sibling.index
            ? Merge(parent: parent, earlier: pending.state, later: other)
            : Merge(parent: parent, earlier: other, later: pending.state)
    }

    /// Once every chunk is placed: the waiting states in chunk order (the aligned blocks of
    /// the binary expansion of the chunk count), to be merged left to right.
    public mutating func drain() -> [State] {
        let ordered = waiting.sorted { $0.key.start < $1.key.start }
        waiting.removeAll()
        prefixBlocks.removeAll()
        return ordered.map(\.value)
    }
}

extension MergeTree.Node {
    /// The chunks the node covers.
    var start: Int { index << level }
    var end: Int { (index + 1) << level }
}

/// The finished start of a reduction, as its merge tree holds it (`MergeTree.prefix`):
/// the states of chunks `0..<chunks` (counted from the reduction's first), as the aligned
/// blocks of the tree, in order.
public struct ReductionPrefix<State> {
    /// The state of node (`level`, `index`) of the tree: chunks `index·2^level ..< (index+1)·2^level`.
    public struct Block {
        public var level: Int
        public var index: Int
        public var state: State
    }

    public var chunks: Int
    public var blocks: [Block]
}

extension ReductionPrefix: Sendable where State: Sendable {}
extension ReductionPrefix.Block: Sendable where State: Sendable {}

extension MergeTree.Pending: Sendable where State: Sendable {}
extension MergeTree.Merge: Sendable where State: Sendable {}
