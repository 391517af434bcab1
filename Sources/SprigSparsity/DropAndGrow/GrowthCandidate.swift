/// A connection proposed for growth: its flat position `row * cols + col` and its grow
/// score (RigL: |dL/dW|). Ranks propose their best candidates and rank 0 picks the best
/// of all; ties are broken by the position's key (`TopK.key`), which rank 0 recomputes.
public struct GrowthCandidate: Equatable, Sendable {
    public var position: Int
    public var score: Float

    public init(position: Int, score: Float) {
        self.position = position
        self.score = score
    }
}
