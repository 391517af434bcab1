/// Static sparse training: the random initial mask never changes (the baseline the RigL
/// paper calls Static).
public final class StaticMask: MaskPolicy {
    public init() {}
    public func updatesMasks(atStep t: Int) -> Bool { false }
    public func decide(_ context: MaskContext) -> [MaskDiff] {
        context.layers.indices.map { MaskDiff(sparseLayer: $0, dropped: [], grown: []) }
    }
}
