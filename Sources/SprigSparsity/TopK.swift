import SprigTensor
import SprigLayers

/// Selection of the k best-scoring positions. Ties are broken by a key that is a hash of
/// (stream, position), so every rank and every run breaks them the same way (the reference
/// code adds N(0, 1e-5) noise to the scores instead; a key never reorders distinct scores).
///
/// A streaming selection: a heap of the k best so far, whose worst entry is compared with
/// each candidate; most candidates are rejected by one float comparison, so choosing
/// thousands of connections among millions costs about one pass over the scores.
public struct TopK {
    /// The stream the tie keys are drawn from.
    public let keySeed: UInt64

    public init(keySeed: UInt64) {
        self.keySeed = keySeed
    }

    /// A stream of keys for (seed, purpose, step, layer).
    public init(seed: UInt64, purpose: RandomPurpose, step: Int, layer: Int) {
        var r = StatelessRandom(seed: seed, purpose: purpose, step: step, layer: layer)
        keySeed = r.next()
    }

    /// The tie-breaking key of `position`.
    @inline(__always)
    public func key(_ position: Int) -> UInt64 {
        StatelessRandom.mix(keySeed ^ (UInt64(position) &* 0x9E37_79B9_7F4A_7C15))
    }

    /// The `k` positions in `0..<count` with `isCandidate` that have the largest `score`,
    /// ascending. Fails when there are fewer than k candidates.
    public func largest(_ k: Int, count: Int, isCandidate: (Int) -> Bool = { _ in true }, score: (Int) -> Float) -> [Int] {
        precondition(k >= 0, "cannot pick \(k)")
        guard k > 0 else { return [] }
        var selection = Selection(k, keys: self)
        for i in 0..<count where isCandidate(i) { selection.offer(i, score: score(i)) }
        precondition(selection.count == k, "cannot pick \(k) of \(selection.count) candidates")
        return selection.positions
    }

    /// A streaming selection of the k best (score, key) pairs among the positions offered,
    /// in any order and in any number of passes: the result depends only on the set
    /// offered. So a selection may run tile by tile, and selections over disjoint parts
    /// (ranks' shares of the rows) merge exactly: the best k of the union are among the
    /// union of each part's best k.
    public struct Selection {
        public let k: Int
        let keys: TopK
        /// A min-heap by `better`: heap[0] is the worst of the best k so far.
        private var heap: [Entry] = []

        public init(_ k: Int, keys: TopK) {
            precondition(k >= 0, "cannot pick \(k)")
            self.k = k
            self.keys = keys
            heap.reserveCapacity(k)
        }

        /// Positions held so far (k once k were offered).
        public var count: Int { heap.count }

        /// Considers `position` with `score`; most are rejected by one comparison.
        @inline(__always)
        public mutating func offer(_ position: Int, score s: Float) {
            if heap.count < k {
                heap.append(Entry(score: s, key: keys.key(position), index: position))
                siftUp(heap.count - 1)
            } else if k > 0 && s >= heap[0].score {
                let e = Entry(score: s, key: keys.key(position), index: position)
                if Entry.better(e, heap[0]) {
                    heap[0] = e
                    siftDown(0)
                }
            }
        }

        /// The chosen positions, ascending.
        public var positions: [Int] { heap.map(\.index).sorted() }

        /// The chosen positions with their scores, by ascending position.
        public var candidates: [GrowthCandidate] {
            heap.map { GrowthCandidate(position: $0.index, score: $0.score) }.sorted { $0.position < $1.position }
        }

        private mutating func siftUp(_ start: Int) {
            var c = start
            while c > 0 {
                let p = (c - 1) / 2
                guard Entry.better(heap[p], heap[c]) else { return }
                heap.swapAt(p, c)
                c = p
            }
        }

        private mutating func siftDown(_ start: Int) {
            var p = start
            while true {
                let l = 2 * p + 1, r = l + 1
                var worst = p
                if l < heap.count && Entry.better(heap[worst], heap[l]) { worst = l }
                if r < heap.count && Entry.better(heap[worst], heap[r]) { worst = r }
                if worst == p { return }
                heap.swapAt(p, worst)
                p = worst
            }
        }
    }

    struct Entry {
        var score: Float
        var key: UInt64
        var index: Int

        /// True when a ranks above b.
        @inline(__always)
        static func better(_ a: Entry, _ b: Entry) -> Bool {
            a.score > b.score || (a.score == b.score && a.key > b.key)
        }
    }

    /// The `k` positions with the smallest `score`, ascending.
    public func smallest(_ k: Int, count: Int, isCandidate: (Int) -> Bool = { _ in true }, score: (Int) -> Float) -> [Int] {
        largest(k, count: count, isCandidate: isCandidate, score: { -score($0) })
    }
}
