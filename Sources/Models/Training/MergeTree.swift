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

    public init() {}

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

    public static func parent(of merge: Merge, merged state: State) -> Pending {
        Pending(node: merge.parent, state: state)
    }

    /// Places a state; returns the merge to perform if its sibling was waiting.
    public mutating func place(_ pending: Pending) -> Merge? {
        let node = pending.node
        let sibling = Node(level: node.level, index: node.index ^ 1)
        guard let other = waiting.removeValue(forKey: sibling) else {
            waiting[node] = pending.state
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
        let ordered = waiting.sorted { $0.key.index << $0.key.level < $1.key.index << $1.key.level }
        waiting.removeAll()
        return ordered.map(\.value)
    }
}

extension MergeTree.Pending: Sendable where State: Sendable {}
extension MergeTree.Merge: Sendable where State: Sendable {}
