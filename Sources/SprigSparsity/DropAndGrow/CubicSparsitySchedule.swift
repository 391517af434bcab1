/// The sparsity schedule of gradual pruning (Zhu & Gupta, "To prune, or not to prune",
/// 2017), which methods that prune gradually share: pruning steps every `deltaT`
/// steps from `begin`, and at `end`, and the sparsity
///
///     s_t = s_f + (s_i - s_f) (1 - (t - begin) / (end - begin))^3
///
/// rising from the initial `s_i` to the final `s_f` (progress clamped to [0, 1]).
public struct CubicSparsitySchedule: Equatable, Sendable {
    public let begin: Int
    public let end: Int
    public let deltaT: Int

    public init(begin: Int, end: Int, deltaT: Int) {
        precondition(end > begin && deltaT > 0, "pruning needs begin < end and deltaT > 0")
        self.begin = begin
        self.end = end
        self.deltaT = deltaT
    }

    /// True when step t prunes: every deltaT steps from begin, and at end.
    public func isPruningStep(_ t: Int) -> Bool {
        t > 0 && t >= begin && t <= end && ((t - begin) % deltaT == 0 || t == end)
    }

    /// `s_t` from `initial` to `final`.
    public func sparsity(at t: Int, initial: Double, final: Double) -> Double {
        let progress = min(max(Double(t - begin) / Double(end - begin), 0), 1)
        let remaining = 1 - progress
        return final + (initial - final) * remaining * remaining * remaining
    }
}
